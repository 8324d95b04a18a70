// What the browser scripts (browser.js, browser_collection.js) share: launching headless
// Chromium, collecting the page's console errors, and signing in through the page's form.
'use strict';

const {chromium} = require('playwright-core');

// A persistent Chromium context on cfg.userDataDir (cfg.chromium: the binary), timeouts in ms.
// The flags keep Chromium from calling home: the CI machine has no internet and a browser
// retrying Google endpoints floods the closed network.
function launch(cfg, timeoutMs) {
  return chromium.launchPersistentContext(cfg.userDataDir, {
    executablePath: cfg.chromium,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-default-apps', '--disable-extensions', '--no-default-browser-check',
      '--metrics-recording-only', '--disable-domain-reliability', '--disable-breakpad'],
    viewport: {width: 1100, height: 900},
    timeout: timeoutMs,
  });
}

// Every console message goes to stderr; errors (and uncaught exceptions) are pushed onto
// `errors`, except the expected ones: PouchDB looks for its replication checkpoints first (their
// 404s), the favicon Chromium asks for on a page other than the app's, and URLs `alsoExpected`
// (a RegExp, optional) matches.
function collectConsoleErrors(page, errors, alsoExpected) {
  page.on('console', (m) => {
    const where = (m.location() || {}).url || '';
    process.stderr.write(`[page ${m.type()}] ${m.text()} ${where}\n`);
    const expected = where.includes('/_local/') || where.endsWith('/favicon.ico') ||
      (alsoExpected !== undefined && alsoExpected.test(where));
    if (m.type() === 'error' && !expected) errors.push(`${m.text()} ${where}`.trim());
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
}

// Sign in with the page's form, as a person does, once the page has started syncing (live in
// admin party, "sign-in needed" on a server that wants a user): the form's handler is there then.
// signIn: {username, password}.
async function signInThroughForm(page, signIn) {
  await page.waitForSelector('#sync-status[data-state="live"], #sync-status[data-state="auth"]');
  await page.evaluate(() => { document.querySelector('#signin').open = true; });
  await page.fill('#signin-user', signIn.username);
  await page.fill('#signin-password', signIn.password);
  await page.click('#signin-form button[type="submit"]');
  await page.waitForFunction((name) => document.querySelector('#signin-who').textContent === `Signed in as ${name}.`,
    signIn.username);
  await page.waitForSelector('#sync-status[data-state="live"]');
}

module.exports = {launch, collectConsoleErrors, signInThroughForm};
