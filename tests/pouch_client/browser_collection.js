#!/usr/bin/env node
// Drives the poster tiles (web/collection.js) and the title search (web/search.js) of the page
// (/app/) in headless Debian Chromium with playwright-core. Run by tests/test_browser_collection.py:
//
//   node tests/pouch_client/browser_collection.js '<json config>'
//
// config: {url, chromium, userDataDir, screenshotDir, signIn {username, password}, posterId,
//          downloadingId, searchTerm, searchId, timeoutMs?}
// stdout: {"event": "step", ...} observations, then {"event": "done", ...} or {"event": "error", ...}
'use strict';

const fs = require('fs');
const path = require('path');
const {launch, collectConsoleErrors, signInThroughForm} = require('./browser_common');

const cfg = JSON.parse(process.argv[2] || '{}');
const T = cfg.timeoutMs || 20000;
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const tile = (id) => `#mt-collection li.mt-tile[data-id="${id}"]`;

async function main() {
  const consoleErrors = [];
  const context = await launch(cfg, T);
  let page;
  try {
    page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(T);
    // no internet here: a search result's remote poster (TMDb) cannot load; that is not the page's fault
    await page.route(/^https:\/\/(image\.tmdb\.org|artworks\.thetvdb\.com)\//, (route) => route.abort());
    collectConsoleErrors(page, consoleErrors, /image\.tmdb\.org|artworks\.thetvdb\.com/);

    await page.goto(cfg.url, {waitUntil: 'domcontentloaded'});
    if (cfg.signIn) await signInThroughForm(page, cfg.signIn);
    await page.waitForSelector('#sync-status[data-state="live"]');
    // the posters' part has read who is signed in (its roles decide about "Remove")
    if (cfg.signIn) await page.waitForSelector(`#mt-collection[data-user="${cfg.signIn.username}"]`);
    out({event: 'step', step: 'live'});

    // the poster from the local attachment (a blob: URL), loaded
    const img = `${tile(cfg.posterId)} img.mt-poster`;
    await page.waitForSelector(img);
    const poster = await (await page.waitForFunction((sel) => {
      const i = document.querySelector(sel);
      return i && i.complete && i.naturalWidth > 0 ? {src: i.src, naturalWidth: i.naturalWidth} : null;
    }, img)).jsonValue();
    out({event: 'step', step: 'poster', ...poster});

    // the downloading title: a progress bar with percent and ETA
    const bar = `${tile(cfg.downloadingId)} .mt-progress`;
    await page.waitForSelector(bar);
    out({event: 'step', step: 'progress', ...await page.$eval(bar, (p) => ({
      text: p.querySelector('.mt-progress-text').textContent,
      value: p.querySelector('[role="progressbar"]').getAttribute('aria-valuenow'),
      width: p.querySelector('.mt-fill').style.width,
    }))});

    // the detail view of the title with the poster
    await page.click(`${tile(cfg.posterId)} .mt-tile-button`);
    await page.waitForSelector(`.mt-detail[data-id="${cfg.posterId}"]`);
    out({event: 'step', step: 'detail', text: await page.textContent(`.mt-detail[data-id="${cfg.posterId}"]`),
      removeShown: await page.isVisible('.mt-detail .mt-remove')});

    // search by name, add with one tap; it arrives in the collection
    await page.fill('.mt-search-term', cfg.searchTerm);
    await page.click('.mt-search-button');
    const result = `.mt-result[data-id="${cfg.searchId}"]`;
    await page.waitForSelector(result);
    out({event: 'step', step: 'found', text: await page.textContent(result)});
    await page.click(`${result} .mt-add`);
    await page.waitForFunction((sel) => document.querySelector(`${sel} .mt-result-message`).textContent.startsWith('Added'), result);
    await page.waitForSelector(tile(cfg.searchId));
    out({event: 'step', step: 'added', status: await page.getAttribute(tile(cfg.searchId), 'data-status')});

    // a title already there says so
    await page.fill('.mt-search-term', cfg.haveTerm);
    await page.click('.mt-search-button');
    const have = `.mt-result[data-id="${cfg.posterId}"]`;
    await page.waitForSelector(`${have} .mt-in-collection`);
    out({event: 'step', step: 'in-collection', text: await page.textContent(have),
      addDisabled: await page.isDisabled(`${have} .mt-add`)});

    fs.mkdirSync(cfg.screenshotDir, {recursive: true});
    await page.evaluate(() => { if (document.activeElement) document.activeElement.blur(); window.scrollTo(0, 0); });
    const shot = path.join(cfg.screenshotDir, 'app-collection.png');
    const box = await page.evaluate(() => {
      const a = document.querySelector('#mt-search').getBoundingClientRect();
      const b = document.querySelector('#mt-collection').getBoundingClientRect();
      return {x: 0, y: 0, width: document.documentElement.clientWidth, height: Math.ceil(b.bottom + window.scrollY + 16)};
    });
    await page.screenshot({path: shot, clip: box, fullPage: true});

    // a per-title action from the detail view: a new wish (the first one's tombstone is in the buffer)
    await page.click(`.mt-detail[data-id="${cfg.posterId}"] .mt-unmonitor`);
    await page.waitForSelector(`${tile(cfg.posterId)}[data-status="unmonitored"]`);
    out({event: 'step', step: 'unmonitored'});

    // more seasons of a series: tick one, one wish with options.seasons
    if (cfg.seriesId) {
      await page.click(`${tile(cfg.seriesId)} .mt-tile-button`);
      const dv = `.mt-detail[data-id="${cfg.seriesId}"]`;
      await page.waitForSelector(`${dv} .mt-seasons`);
      const before = await page.textContent(`${dv} .mt-seasons`);
      await page.check(`${dv} .mt-season input[value="${cfg.season}"]`);
      await page.click(`${dv} .mt-more-seasons`);
      // the answer comes back on the doc: the season is monitored now
      await page.waitForFunction(([sel, n]) => {
        const labels = [...document.querySelectorAll(`${sel} .mt-season`)];
        const l = labels.find((x) => x.querySelector('input').value === String(n));
        return l && !l.textContent.includes('not monitored');
      }, [dv, cfg.season]);
      out({event: 'step', step: 'seasons', before, after: await page.textContent(`${dv} .mt-seasons`)});
    }

    await page.setViewportSize({width: 390, height: 844});
    await page.waitForFunction(() => window.innerWidth === 390);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    out({event: 'done', consoleErrors, overflow, screenshot: shot});
  } catch (e) {
    if (page) {
      fs.mkdirSync(cfg.screenshotDir, {recursive: true});
      await page.screenshot({path: path.join(cfg.screenshotDir, 'app-collection-failure.png'), fullPage: true}).catch(() => {});
      const state = await page.evaluate(() => ({
        search: (document.querySelector('#mt-search') || {}).innerText,
        posters: (document.querySelector('#mt-collection') || {}).innerText,
      })).catch((err) => ({unavailable: String(err)}));
      process.stderr.write(`page at failure: ${JSON.stringify(state, null, 2)}\n`);
    }
    throw e;
  } finally {
    await context.close();
  }
}

main().then(() => process.exit(0), (e) => {
  out({event: 'error', error: String(e && e.stack || e)});
  process.exit(1);
});
