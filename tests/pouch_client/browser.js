#!/usr/bin/env node
// Drives the sidecar's page (/app/) in headless Debian Chromium with playwright-core.
// Run by tests/test_browser.py:
//
//   node tests/pouch_client/browser.js '<json config>'
//
// config: {url, chromium, userDataDir, screenshotDir, failingId, timeoutMs?, scenario?, signIn?,
//          bufferDb?}; scenario "signin" (sign-in on a server with an admin), "refusals" (refused
//          revisions, discard, withdraw: see refusals() below), "offline" (a wish made offline,
//          delivered on reconnect), "unsendable" (wishes the server can never take do not hold up
//          the others) or "cors" (the page opened from an origin CouchDB does not allow).
//          signIn {username, password}: the page is signed in as that user first (CouchDB 3 wants
//          a user)
// Talks to the test over stdio, one JSON object per line:
//   stdout {"event": "step", ...}        progress and observations
//   stdout {"event": "wait", "for": X}   then reads one line from stdin before going on (the test
//                                        changes something on the server side meanwhile)
//   stdout {"event": "done", ...}        the result; {"event": "error", ...} on failure
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');
const {launch, collectConsoleErrors, signInThroughForm} = require('./browser_common');

const cfg = JSON.parse(process.argv[2] || '{}');
const T = cfg.timeoutMs || 15000;
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const lines = readline.createInterface({input: process.stdin})[Symbol.asyncIterator]();

async function waitForTest(what, extra = {}) {
  out({event: 'wait', for: what, ...extra});
  const {value, done} = await lines.next();
  if (done) throw new Error(`stdin closed while waiting for ${what}`);
  return value;
}

async function addTitle(page, {kind, id, title, year, action, by}) {
  await page.selectOption('#kind', kind);
  await page.fill('#ext-id', String(id));
  await page.fill('#title', title);
  await page.fill('#year', year ? String(year) : '');
  await page.check(`input[name="action"][value="${action}"]`);
  if (by !== undefined) await page.fill('#requested-by', by);
  await page.click('#add-button');
}

const item = (list, id) => `#${list} li[data-id="${id}"]`;

async function main() {
  const consoleErrors = [];
  const context = await launch(cfg, T);
  let page;
  try {
    page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(T);
    collectConsoleErrors(page, consoleErrors);

    const t0 = Date.now();
    await page.goto(cfg.url, {waitUntil: 'domcontentloaded'});
    if (cfg.scenario === 'signin') return await signIn(page, consoleErrors);
    if (cfg.scenario === 'refusals') return await refusals(page, consoleErrors);
    if (cfg.scenario === 'cors') return await corsBlocked(page, consoleErrors);
    if (cfg.signIn) await signInThroughForm(page, cfg.signIn);
    if (cfg.scenario === 'offline') return await offline(page, context, consoleErrors);
    if (cfg.scenario === 'unsendable') return await unsendable(page, context, consoleErrors);
    await page.waitForSelector('#sync-status[data-state="live"]');
    out({event: 'step', step: 'live', ms: Date.now() - t0});
    // a marker that a reload would wipe: every change below must arrive without one
    await page.evaluate(() => { window.__sameLoad = 'yes'; });

    // a person's mistake is caught before anything is written
    await page.fill('#ext-id', '603');
    await page.fill('#title', '  ');
    await page.click('#add-button');
    const formError = await page.textContent('#form-message');
    out({event: 'step', step: 'form-error', message: formError});

    // a movie to download: pending first, then in the collection as "wanted"
    let t = Date.now();
    await addTitle(page, {kind: 'movie', id: 603, title: 'The Matrix', year: 1999, action: 'download', by: 'ann'});
    // "Sent" once the server has it, not before
    await page.waitForFunction(() => document.querySelector('#form-message').textContent.startsWith('Sent “The Matrix”'));
    out({event: 'step', step: 'sent', message: await page.textContent('#form-message')});
    await page.waitForSelector(`${item('collection', 'tmdb:603')}[data-status="wanted"]`);
    await page.waitForSelector(item('pending', 'tmdb:603'), {state: 'detached'});
    out({event: 'step', step: 'movie-wanted', ms: Date.now() - t,
      text: await page.textContent(item('collection', 'tmdb:603'))});

    // a series to monitor: "monitored"
    t = Date.now();
    await addTitle(page, {kind: 'series', id: 81189, title: 'Breaking Bad', year: 2008, action: 'monitor'});
    await page.waitForSelector(`${item('collection', 'tvdb:81189')}[data-status="monitored"]`);
    out({event: 'step', step: 'series-monitored', ms: Date.now() - t});

    // an id Radarr does not know: failed, with Radarr's message and a "Send again" button
    t = Date.now();
    await addTitle(page, {kind: 'movie', id: cfg.failingId, title: 'Lost Film', year: 2001, action: 'download'});
    const failedSel = `${item('pending', `tmdb:${cfg.failingId}`)}[data-state="failed"]`;
    await page.waitForSelector(`${failedSel} [data-testid="last-error"]`);
    const lastError = await page.textContent(`${failedSel} [data-testid="last-error"]`);
    // a sentence for people; Radarr's own words behind "Details"
    const why = await page.textContent(`${failedSel} [data-testid="why"]`);
    const detailShown = await page.isVisible(`${failedSel} [data-testid="detail"]`);
    await page.click(`${failedSel} details summary`);
    await page.waitForSelector(`${failedSel} [data-testid="detail"]`, {state: 'visible'});
    // a render (each builds the lists anew; typing in the filter makes one): it stays open
    await page.fill('#filter-text', 'no such title');
    await page.waitForFunction(() => document.querySelector('#collection-empty').textContent === 'Nothing matches the filter.');
    await page.fill('#filter-text', '');
    await page.waitForSelector('#collection-empty', {state: 'hidden'});
    const detail = await page.textContent(`${failedSel} [data-testid="detail"]`);
    out({event: 'step', step: 'failed-shown', ms: Date.now() - t, lastError, why, detail, detailShown,
      detailShownAfterClick: await page.isVisible(`${failedSel} [data-testid="detail"]`)});
    await waitForTest('id-known', {id: cfg.failingId});  // the test makes Radarr know the id now
    await page.click(`${failedSel} button[data-action="resend"]`);
    await page.waitForSelector(`${item('collection', `tmdb:${cfg.failingId}`)}[data-status="wanted"]`);
    await page.waitForSelector(item('pending', `tmdb:${cfg.failingId}`), {state: 'detached'});
    out({event: 'step', step: 'resent-wanted', ms: Date.now() - t});

    // a change made on the server (as a webhook would) shows up by itself
    await waitForTest('server-change');
    t = Date.now();
    await page.waitForSelector(`${item('collection', 'tmdb:603')}[data-status="downloaded"]`);
    out({event: 'step', step: 'live-update', ms: Date.now() - t});

    // one failure left on screen, for the screenshot
    await addTitle(page, {kind: 'movie', id: cfg.failingId + 1, title: 'Another Lost Film', action: 'download', by: 'ann'});
    await page.waitForSelector(`${item('pending', `tmdb:${cfg.failingId + 1}`)}[data-state="failed"] [data-testid="last-error"]`);

    const sameLoad = await page.evaluate(() => window.__sameLoad);
    const collection = await page.$$eval('#collection li', (lis) => lis.map((li) => ({
      id: li.dataset.id, status: li.dataset.status, text: li.querySelector('.title').textContent})));
    const pending = await page.$$eval('#pending li', (lis) => lis.map((li) => ({
      id: li.dataset.id, state: li.dataset.state})));

    fs.mkdirSync(cfg.screenshotDir, {recursive: true});
    await page.waitForSelector('#sync-status[data-state="live"]');
    await page.evaluate(() => {
      if (document.activeElement) document.activeElement.blur();
      window.scrollTo(0, 0);  // the sticky header where it belongs
    });
    const desktop = path.join(cfg.screenshotDir, 'app-desktop.png');
    await page.screenshot({path: desktop, fullPage: true});

    // the same page on a phone-sized screen: one column, nothing wider than the screen
    await page.setViewportSize({width: 390, height: 844});
    await page.waitForTimeout(100);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    const phone = path.join(cfg.screenshotDir, 'app-phone.png');
    await page.screenshot({path: phone, fullPage: true});

    out({event: 'done', formError, sameLoad, collection, pending, overflow, consoleErrors,
      screenshots: {desktop, phone}});
  } catch (e) {
    // what the page showed when it went wrong, for the log (test-artifacts/browser.log)
    if (page) {
      const state = await page.evaluate(() => ({
        sync: document.querySelector('#sync-status').textContent,
        pending: document.querySelector('#pending').innerText,
        collection: document.querySelector('#collection').innerText,
        message: document.querySelector('#form-message').textContent,
      })).catch((err) => ({unavailable: String(err)}));
      process.stderr.write(`page at failure: ${JSON.stringify(state, null, 2)}\n`);
      fs.mkdirSync(cfg.screenshotDir, {recursive: true});
      await page.screenshot({path: path.join(cfg.screenshotDir, 'app-failure.png'), fullPage: true}).catch(() => {});
    }
    throw e;
  } finally {
    await context.close();
  }
}

// CouchDB wants a user: the page says so, the person signs in, and everything works as that user
async function signIn(page, consoleErrors) {
  await page.waitForSelector('#sync-status[data-state="auth"]');
  const asked = await page.evaluate(() => document.querySelector('#signin').open);
  out({event: 'step', step: 'auth-needed', signinOpen: asked, badge: await page.textContent('#sync-status')});
  // the badge leads to the form, which sits at the top while it is needed
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await page.click('#sync-status');
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'signin-user');
  out({event: 'step', step: 'badge-leads', ...await page.evaluate(() => {
    const form = document.querySelector('#signin').getBoundingClientRect();
    const add = document.querySelector('#add-form').getBoundingClientRect();
    const header = document.querySelector('header').getBoundingClientRect();
    return {focused: document.activeElement.id, open: document.querySelector('#signin').open,
      formAboveAdd: form.top < add.top, formInView: form.top >= header.bottom && form.top < window.innerHeight};
  })});
  await page.fill('#signin-user', cfg.signIn.username);
  await page.fill('#signin-password', 'wrong-password');
  await page.click('#signin-form button[type="submit"]');
  await page.waitForFunction(() => /Not signed in/.test(document.querySelector('#signin-message').textContent));
  out({event: 'step', step: 'wrong-password', message: await page.textContent('#signin-message')});
  await page.fill('#signin-password', cfg.signIn.password);
  await page.click('#signin-form button[type="submit"]');
  await page.waitForSelector('#sync-status[data-state="live"]');
  out({event: 'step', step: 'signed-in', message: await page.textContent('#signin-who'),
    formShown: await page.isVisible('#signin-form'), signOutShown: await page.isVisible('#signout')});
  await addTitle(page, {kind: 'movie', id: 550, title: 'Fight Club', year: 1999, action: 'monitor', by: 'bob'});
  await page.waitForSelector(`${item('collection', 'tmdb:550')}[data-status="monitored"]`);
  await page.waitForSelector(item('pending', 'tmdb:550'), {state: 'detached'});
  out({event: 'done', consoleErrors});
}

// ---------------------------------------------------------------- refused revisions, discard, withdraw
//
// The test put five wishes on a server with an admin, as the sidecar would have left them:
// tmdb:701 new, tmdb:702 retry, tmdb:703 failed, tmdb:704 and tmdb:705 processing (no worker
// runs). The page is signed in as a plain user, so validate_doc_update applies to what it pushes.

const pendingSel = (id, state) => `${item('pending', id)}${state ? `[data-state="${state}"]` : ''}`;

// what the page shows for one wish: its state, its texts and the actions it offers
async function shown(page, id) {
  return page.$eval(item('pending', id), (li) => ({
    state: li.dataset.state,
    rev: li.dataset.rev,
    badge: li.querySelector('[data-testid="state"]').textContent,
    requestedAt: li.querySelector('[data-testid="requested-at"]').dataset.at,
    refusal: (li.querySelector('[data-testid="refusal"]') || {}).textContent || null,
    moved: (li.querySelector('[data-testid="moved"]') || {}).textContent || null,
    discardPending: (li.querySelector('[data-testid="discard-pending"]') || {}).textContent || null,
    actions: [...li.querySelectorAll('button')].map((b) => b.dataset.action),
  }));
}

// An edit made in the page's own local database, as a stale tab or an offline phone would make
// it (the page offers no such edit): PouchDB in the page, the same IndexedDB database.
async function editLocally(page, id, change) {
  return page.evaluate(async ({bufferDb, id, change}) => {
    const dbs = await indexedDB.databases();
    const found = dbs.map((d) => d.name).find((n) => n.startsWith('_pouch_mt-') && n.endsWith(`-${bufferDb}`));
    if (!found) throw new Error(`no local copy of ${bufferDb} among ${dbs.map((d) => d.name)}`);
    const db = new PouchDB(found.slice('_pouch_'.length));
    const doc = await db.get(id);
    const res = await db.put({...doc, ...change});
    return res.rev;
  }, {bufferDb: cfg.bufferDb, id, change});
}

// the local leaves of a doc (the page's database): [{rev, deleted}]
async function localLeaves(page, id) {
  return page.evaluate(async ({bufferDb, id}) => {
    const dbs = await indexedDB.databases();
    const found = dbs.map((d) => d.name).find((n) => n.startsWith('_pouch_mt-') && n.endsWith(`-${bufferDb}`));
    const db = new PouchDB(found.slice('_pouch_'.length));
    const rows = await db.get(id, {open_revs: 'all'});
    return rows.filter((r) => r.ok).map((r) => ({rev: r.ok._rev, deleted: !!r.ok._deleted}));
  }, {bufferDb: cfg.bufferDb, id});
}

async function until(what, fn, timeoutMs = T) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function signInOnly(page) {
  await page.waitForSelector('#sync-status[data-state="auth"]');
  await page.fill('#signin-user', cfg.signIn.username);
  await page.fill('#signin-password', cfg.signIn.password);
  await page.click('#signin-form button[type="submit"]');
  await page.waitForSelector('#sync-status[data-state="live"]');
}

async function refusals(page, consoleErrors) {
  await signInOnly(page);
  const wishes = [['tmdb:701', 'new'], ['tmdb:702', 'retry'], ['tmdb:703', 'failed'], ['tmdb:704', 'processing'],
    ['tmdb:705', 'processing']];
  for (const [id, state] of wishes) await page.waitForSelector(pendingSel(id, state));
  const listed = {};
  for (const [id] of wishes) listed[id] = await shown(page, id);
  out({event: 'step', step: 'listed', items: listed});

  // (1) an edit the server refuses (requested_at names the wish: it never changes), then Discard
  const refusedRev = await editLocally(page, 'tmdb:701', {requested_at: '2030-01-01T00:00:00.000Z'});
  await page.waitForSelector(`${pendingSel('tmdb:701', 'refused')} [data-testid="refusal"]`);
  out({event: 'step', step: 'refused', rev: refusedRev, item: await shown(page, 'tmdb:701')});
  await page.click(`${pendingSel('tmdb:701', 'refused')} button[data-action="discard"]`);
  await page.waitForSelector(pendingSel('tmdb:701', 'new'));
  const discardRev = await page.getAttribute(item('pending', 'tmdb:701'), 'data-rev');
  await waitForTest('discarded', {id: 'tmdb:701', rev: discardRev});  // the server takes that revision
  await page.waitForTimeout(300);  // a render or two, had a refusal come back
  out({event: 'step', step: 'discarded', item: await shown(page, 'tmdb:701'), leaves: await localLeaves(page, 'tmdb:701')});

  // (2) the ghost: an edit of a wish the sidecar is adding is refused; then the sidecar moves it
  await editLocally(page, 'tmdb:704', {title: 'Ghost Film (edited)'});
  await page.waitForSelector(`${pendingSel('tmdb:704', 'refused')} [data-testid="refusal"]`);
  out({event: 'step', step: 'ghost-refused', item: await shown(page, 'tmdb:704')});
  await waitForTest('move', {id: 'tmdb:704'});  // the test moves it on the server, as the worker does
  await page.waitForSelector(item('collection', 'tmdb:704'));
  // the deletion arrived too: locally the refused revision still wins over it (a live leaf beats
  // a deleted one), which is exactly what used to read "adding…" forever
  const ghostLeaves = await until('the move to reach the page', async () => {
    const leaves = await localLeaves(page, 'tmdb:704');
    return leaves.some((l) => l.deleted) && leaves;
  });
  await page.waitForSelector(`${pendingSel('tmdb:704')} [data-testid="moved"]`);
  out({event: 'step', step: 'ghost', item: await shown(page, 'tmdb:704'), leaves: ghostLeaves});
  fs.mkdirSync(cfg.screenshotDir, {recursive: true});
  await page.evaluate(() => window.scrollTo(0, 0));  // the sticky header where it belongs
  const screenshot = path.join(cfg.screenshotDir, 'app-refused.png');
  await page.screenshot({path: screenshot, fullPage: true});

  // the same ghost after the refusal was forgotten (another session, cleared storage): still not
  // "adding…", since the collection holds that very wish. First a session whose replications
  // all catch up ("live": each paused, which PouchDB does only after writing its checkpoint), so
  // the refused edit is not pushed (and refused) again; then the storage is cleared from another
  // page of the same origin, where no code of the app's can write it back.
  await page.reload({waitUntil: 'domcontentloaded'});
  await page.waitForSelector('#sync-status[data-state="live"]');
  await page.goto(new URL('config.json', cfg.url).href);
  await page.evaluate(() => localStorage.removeItem('mt-denied'));
  await page.goto(cfg.url, {waitUntil: 'domcontentloaded'});
  await page.waitForSelector('#sync-status[data-state="live"]');
  await page.waitForSelector(item('collection', 'tmdb:704'));
  await page.waitForSelector(pendingSel('tmdb:704', 'moved'));
  out({event: 'step', step: 'ghost-unrecorded', item: await shown(page, 'tmdb:704')});
  await page.click(`${pendingSel('tmdb:704', 'moved')} button[data-action="discard"]`);
  await page.waitForSelector(item('pending', 'tmdb:704'), {state: 'detached'});
  out({event: 'step', step: 'ghost-discarded', leaves: await localLeaves(page, 'tmdb:704')});

  // (2b) Discard pressed while the sidecar is still adding the title: the server refuses whatever
  // is written on top of it, so Discard writes nothing yet; the page says the change goes when
  // the add finishes (after a reload too), and drops it by itself once the move arrives
  const editedRev = await editLocally(page, 'tmdb:705', {title: 'Film 705 (edited)'});
  await page.waitForSelector(`${pendingSel('tmdb:705', 'refused')} [data-testid="refusal"]`);
  const leavesBefore = await localLeaves(page, 'tmdb:705');
  await page.click(`${pendingSel('tmdb:705', 'refused')} button[data-action="discard"]`);
  await page.waitForSelector(`${pendingSel('tmdb:705', 'discard-pending')} [data-testid="discard-pending"]`);
  out({event: 'step', step: 'discard-pending', rev: editedRev, item: await shown(page, 'tmdb:705'), leavesBefore,
    leaves: await localLeaves(page, 'tmdb:705')});
  await page.reload({waitUntil: 'domcontentloaded'});
  await page.waitForSelector('#sync-status[data-state="live"]');
  await page.waitForSelector(pendingSel('tmdb:705', 'discard-pending'));
  out({event: 'step', step: 'discard-pending-reloaded', item: await shown(page, 'tmdb:705'),
    leaves: await localLeaves(page, 'tmdb:705')});
  await waitForTest('move', {id: 'tmdb:705'});  // the add finishes: the test moves it as the worker does
  await page.waitForSelector(item('collection', 'tmdb:705'));
  await page.waitForSelector(item('pending', 'tmdb:705'), {state: 'detached'});
  out({event: 'step', step: 'discarded-after-add', leaves: await localLeaves(page, 'tmdb:705')});

  // (3) withdraw in every state that allows it: retry, failed, new
  for (const id of ['tmdb:702', 'tmdb:703', 'tmdb:701']) {
    await page.click(`${item('pending', id)} button[data-action="withdraw"]`);
    await page.waitForSelector(item('pending', id), {state: 'detached'});
  }
  await waitForTest('withdrawn');  // the test waits for the server to have them deleted

  // nothing comes back after a fresh start and a full sync
  await page.reload({waitUntil: 'domcontentloaded'});
  await page.waitForSelector('#sync-status[data-state="live"]');
  await page.waitForSelector(item('collection', 'tmdb:704'));
  await page.waitForTimeout(300);  // a render or two after "live", had anything arrived
  const pending = await page.$$eval('#pending li', (lis) => lis.map((li) => ({id: li.dataset.id, state: li.dataset.state})));
  out({event: 'done', pending, consoleErrors, screenshot});
}

// ---------------------------------------------------------------- offline, unsendable, CORS

// the page's local copy of the movies buffer (the same IndexedDB database the page uses)
async function localDocs(page, ids) {
  return page.evaluate(async ({bufferDb, ids}) => {
    const dbs = await indexedDB.databases();
    const found = dbs.map((d) => d.name).find((n) => n.startsWith('_pouch_mt-') && n.endsWith(`-${bufferDb}`));
    if (!found) throw new Error(`no local copy of ${bufferDb} among ${dbs.map((d) => d.name)}`);
    const db = new PouchDB(found.slice('_pouch_'.length));
    const res = await db.allDocs({keys: ids});
    return Object.fromEntries(res.rows.map((r) => [r.key, r.value ? {rev: r.value.rev, deleted: !!r.value.deleted} : null]));
  }, {bufferDb: cfg.bufferDb, ids});
}

// Wishes that get into the page's local database some other way than its form (an older version
// of the app, another tab): written with PouchDB in the page, in one write. huge: [id, bytes]
// makes that wish's title that long (built in the page).
async function writeLocally(page, docs, huge) {
  return page.evaluate(async ({bufferDb, docs, huge}) => {
    const dbs = await indexedDB.databases();
    const found = dbs.map((d) => d.name).find((n) => n.startsWith('_pouch_mt-') && n.endsWith(`-${bufferDb}`));
    const db = new PouchDB(found.slice('_pouch_'.length));
    const now = new Date().toISOString();
    const full = docs.map((d) => ({requested_at: now, ...d}));
    if (huge) full.find((d) => d._id === huge[0]).title += 'x'.repeat(huge[1]);
    const res = await db.bulkDocs(full);
    return res.map((r) => r.rev);
  }, {bufferDb: cfg.bufferDb, docs, huge});
}

const wish = (tmdb, title, extra = {}) => ({_id: `tmdb:${tmdb}`, type: 'movie', tmdbId: tmdb, title, action: 'download', ...extra});

async function syncState(page) {
  return page.$eval('#sync-status', (b) => ({state: b.dataset.state, text: b.textContent}));
}

async function pendingShown(page, id) {
  return page.$eval(item('pending', id), (li) => ({
    state: li.dataset.state,
    badge: li.querySelector('[data-testid="state"]').textContent,
    hint: (li.querySelector('[data-testid="unsent"]') || {}).textContent || null,
    unsendable: (li.querySelector('[data-testid="unsendable"]') || {}).textContent || null,
    actions: [...li.querySelectorAll('button')].map((b) => b.dataset.action),
  }));
}

// (1) The browser goes offline: the page says so at once, a wish made then is "saved on this
// device" (never "sent", never "live"), and when the browser is back online it is delivered at
// once, not after PouchDB's back-off. Then CouchDB out of reach with the browser online.
async function offline(page, context, consoleErrors) {
  await page.waitForSelector('#sync-status[data-state="live"]');
  await context.setOffline(true);
  await page.waitForSelector('#sync-status[data-state="offline"]');
  out({event: 'step', step: 'offline', sync: await syncState(page),
    note: await page.textContent('#problems [data-testid="offline"]')});

  await addTitle(page, {kind: 'movie', id: 604, title: 'The Matrix Reloaded', year: 2003, action: 'download', by: 'ann'});
  await page.waitForSelector(`${item('pending', 'tmdb:604')}[data-state="unsent"]`);
  await page.waitForTimeout(1500);  // PouchDB tries (and fails) a push or two meanwhile
  out({event: 'step', step: 'saved-offline', message: await page.textContent('#form-message'),
    item: await pendingShown(page, 'tmdb:604'), sync: await syncState(page)});
  await waitForTest('saved-offline', {id: 'tmdb:604'});  // the test looks: not on the server
  const stillOffline = await syncState(page);

  const t = Date.now();
  await context.setOffline(false);
  await page.waitForFunction(() => document.querySelector('#form-message').textContent.startsWith('Sent “The Matrix Reloaded”'),
    null, {polling: 20});
  const deliveredMs = Date.now() - t;
  out({event: 'step', step: 'delivered', ms: deliveredMs, message: await page.textContent('#form-message')});
  await page.waitForSelector(`${item('collection', 'tmdb:604')}[data-status="wanted"]`);
  await page.waitForSelector(item('pending', 'tmdb:604'), {state: 'detached'});
  await page.waitForSelector('#sync-status[data-state="live"]');
  const problemsHidden = await page.isHidden('#problems');

  // CouchDB out of reach while the browser says it is online: the failing push says offline
  // (PouchDB's sync() alone hides it), and the wish goes on the next try once it answers again
  const couchUrl = await page.evaluate(async () => (await (await fetch('config.json')).json()).couchdb_url);
  const couchOrigin = new URL(couchUrl).origin;
  const unreachable = (url) => url.origin === couchOrigin;
  await context.route(unreachable, (route) => route.abort('connectionrefused'));
  await addTitle(page, {kind: 'movie', id: 605, title: 'The Matrix Revolutions', year: 2003, action: 'download', by: 'ann'});
  await page.waitForSelector(`${item('pending', 'tmdb:605')}[data-state="unsent"]`);
  await page.waitForSelector('#sync-status[data-state="offline"]');
  await page.waitForFunction(() => /when you are online/.test(document.querySelector('#form-message').textContent));
  out({event: 'step', step: 'server-unreachable', message: await page.textContent('#form-message'),
    item: await pendingShown(page, 'tmdb:605'), sync: await syncState(page),
    online: await page.evaluate(() => navigator.onLine)});
  const t2 = Date.now();
  await context.unroute(unreachable);
  await page.waitForFunction(() => document.querySelector('#form-message').textContent.startsWith('Sent “The Matrix Revolutions”'),
    null, {polling: 20});
  const backMs = Date.now() - t2;
  await page.waitForSelector(`${item('collection', 'tmdb:605')}[data-status="wanted"]`);
  await page.waitForSelector('#sync-status[data-state="live"]');
  out({event: 'done', stillOffline, deliveredMs, backMs, problemsHidden, consoleErrors});
}

// (2) Wishes the server can never take: one the page's own check refuses (nothing written), two
// that got into the local database anyway (9 MB, an unknown field: left out of the push, shown as
// "cannot be sent"), one the server refuses whole (CouchDB 3's 413 for a whole _bulk_docs,
// simulated here for every server: the request is answered 413 in the browser). The wishes after
// each still arrive; Discard removes the ones that cannot be sent.
async function unsendable(page, context, consoleErrors) {
  await page.waitForSelector('#sync-status[data-state="live"]');

  // (a) the page's own check, before anything is written
  await addTitle(page, {kind: 'movie', id: 9000, title: 'T'.repeat(501), action: 'download'});
  await page.waitForFunction(() => /longer than 500/.test(document.querySelector('#form-message').textContent));
  out({event: 'step', step: 'checked', message: await page.textContent('#form-message'),
    local: await localDocs(page, ['tmdb:9000'])});

  // (b) in the local database anyway: left out of the push, the wishes after them still go
  await writeLocally(page, [wish(9001, 'Huge '), wish(9002, 'With a poster', {poster: 'data:image/png;base64,AAAA'})],
    ['tmdb:9001', 9 * 1024 * 1024]);
  await page.waitForSelector(`${item('pending', 'tmdb:9001')}[data-state="unsendable"]`);
  await page.waitForSelector(`${item('pending', 'tmdb:9002')}[data-state="unsendable"]`);
  await addTitle(page, {kind: 'movie', id: 9003, title: 'After The Huge One', action: 'download'});
  await page.waitForSelector(`${item('collection', 'tmdb:9003')}[data-status="wanted"]`);
  out({event: 'step', step: 'left-out', items: {'tmdb:9001': await pendingShown(page, 'tmdb:9001'),
    'tmdb:9002': await pendingShown(page, 'tmdb:9002')}, problems: await page.textContent('#problems'),
  sync: await syncState(page)});

  // (c) a wish the server refuses whole, written together with a good one: one push batch
  const refusedWhole = [];
  await context.route((url) => url.pathname.endsWith('/_bulk_docs'), async (route) => {
    const req = route.request();
    let docs = [];
    try { docs = JSON.parse(req.postData() || '{}').docs || []; } catch (e) { /* not JSON */ }
    if (docs.some((d) => d._id === 'tmdb:9413' && !d._deleted)) {
      refusedWhole.push(docs.map((d) => d._id));
      const origin = await req.headerValue('origin');
      return route.fulfill({status: 413, contentType: 'application/json',
        headers: {'Access-Control-Allow-Origin': origin || '*', 'Access-Control-Allow-Credentials': 'true'},
        body: JSON.stringify({error: 'document_too_large', reason: 'tmdb:9413'})});
    }
    return route.continue();
  });
  await writeLocally(page, [wish(9413, 'Refused Whole'), wish(9414, 'Held Up Behind It')]);
  await page.waitForSelector('#problems [data-testid="unsendable"][data-id="tmdb:9413"]');
  await page.waitForSelector(`${item('collection', 'tmdb:9414')}[data-status="wanted"]`);
  await page.waitForSelector('#sync-status[data-state="live"]');
  const problems = await page.$eval('#problems', (p) => ({
    text: p.querySelector('[data-testid="stuck"] p.error').textContent,
    ids: [...p.querySelectorAll('[data-testid="unsendable"]')].map((li) => li.dataset.id).sort(),
    items: Object.fromEntries([...p.querySelectorAll('[data-testid="unsendable"]')].map((li) => [li.dataset.id, li.textContent]))}));
  out({event: 'step', step: 'isolated', problems, item: await pendingShown(page, 'tmdb:9413'),
    refusedWhole: refusedWhole.slice(0, 5), tries: refusedWhole.length});
  fs.mkdirSync(cfg.screenshotDir, {recursive: true});
  await page.evaluate(() => { if (document.activeElement) document.activeElement.blur(); window.scrollTo(0, 0); });
  const screenshot = path.join(cfg.screenshotDir, 'app-unsendable.png');
  await page.screenshot({path: screenshot, fullPage: true});

  // Discard: gone from this device, nothing of them on the server
  for (const id of ['tmdb:9001', 'tmdb:9002', 'tmdb:9413']) {
    await page.click(`${item('pending', id)} button[data-action="discard"]`);
    await page.waitForSelector(item('pending', id), {state: 'detached'});
  }
  await page.waitForSelector('#problems', {state: 'hidden'});
  await page.waitForSelector('#sync-status[data-state="live"]');
  await waitForTest('discarded');  // the test waits for the tombstones to reach the server
  const local = await localDocs(page, ['tmdb:9000', 'tmdb:9001', 'tmdb:9002', 'tmdb:9413', 'tmdb:9414']);
  out({event: 'done', local, consoleErrors, screenshot});
}

// (3) The page served from an origin CouchDB's CORS settings do not list: named as such, on the
// page and at sign-in, never "Failed to fetch"
async function corsBlocked(page, consoleErrors) {
  await page.waitForSelector('#sync-status[data-state="cors"]');
  const text = await page.textContent('#problems [data-testid="cors"]');
  await page.evaluate(() => { document.querySelector('#signin').open = true; });
  await page.fill('#signin-user', cfg.signIn ? cfg.signIn.username : 'someone');
  await page.fill('#signin-password', cfg.signIn ? cfg.signIn.password : 'whatever');
  await page.click('#signin-form button[type="submit"]');
  await page.waitForFunction(() => /CORS/.test(document.querySelector('#signin-message').textContent));
  fs.mkdirSync(cfg.screenshotDir, {recursive: true});
  await page.evaluate(() => window.scrollTo(0, 0));
  const screenshot = path.join(cfg.screenshotDir, 'app-cors.png');
  await page.screenshot({path: screenshot, fullPage: true});
  out({event: 'done', text, origin: await page.evaluate(() => location.origin), sync: await syncState(page),
    signinMessage: await page.textContent('#signin-message'), consoleErrors, screenshot});
}

const timer = setTimeout(() => { out({event: 'error', error: 'browser script timed out'}); process.exit(1); }, 6 * T);
main().then(() => { clearTimeout(timer); process.exit(0); })
  .catch((e) => { out({event: 'error', error: e && e.stack ? e.stack : String(e)}); process.exit(1); });
