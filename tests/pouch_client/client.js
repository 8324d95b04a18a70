#!/usr/bin/env node
// A frontend as the Ionic app is one: npm `pouchdb` with local databases (leveldb in a temp
// folder) that sync with the server. Run by tests/test_pouchdb_client.py:
//
//   node tests/pouch_client/client.js <scenario> '<json config>'
//
// config: {server, buffer, collection, kind: "movie"|"series", dir, id, auth?: {username, password},
//          timeoutMs?}
// It prints one JSON object (the observations) on stdout; progress goes to stderr.
//
// Scenarios:
//   roundtrip   write a wish locally, live sync; report when the title arrives in the local
//               collection and when it leaves the local buffer (ms after the write)
//   invalid     write a wish the server's validate_doc_update refuses; report the 'denied'
//               event of the live sync and the one-shot replication's doc_write_failures
//   offline     the server is unreachable (a local proxy that is down) while the wish is written;
//               then the proxy comes up and live sync (retry) delivers it
//   secured     as a plain (non-admin) user: write a valid wish; send it again after the sidecar
//               (adminAuth) marked it failed; change a sidecar field; write a new wish with a
//               sidecar field; write into the collection (locally + replicated, and directly)
//   session     step by step, driven by the test over stdio (the conflict scenarios): one JSON
//               command per line on stdin, one JSON answer per line on stdout ({ok: true, ...} or
//               {ok: false, error}). The local databases stay open between commands; "offline"
//               is simply not syncing. Commands ({cmd, ...}):
//                 wish {set?}            write a new wish locally (cfg.id), returns {id, rev, doc}
//                 get {id, db?}          the local winner with _conflicts/_deleted_conflicts, or null
//                 leaves {id, db?}       every local leaf (open_revs=all, revs=true)
//                 edit {id, set, rev?}   change fields of the local winner (or of leaf rev), {rev, doc}
//                 remove {id, rev?}      withdraw (delete) the local winner (or leaf rev), {rev}
//                 sync                   one-shot sync as the app does it (buffer both ways, the
//                                        collection down), then the discards that wait for an add
//                                        (see discard), {push, pull, collection, denied,
//                                        discarded: [{id, reverted, ended, removed}],
//                                        discard_pending: [id]}
//                 discard {id}           the app's answer to a refused revision, as docs/frontend.md
//                                        ("Discard") tells it: the local copy becomes the server's
//                                        version again (a new revision with its body on top of
//                                        the refused one, or a merged_into tombstone that ends no
//                                        wish), {waiting: false, reverted: [rev], ended: [rev],
//                                        removed: [both]}. While the server's copy says processing
//                                        it writes nothing ({waiting: true}, removed: []): the wish
//                                        is marked and discarded by a later sync that finds the
//                                        server's copy no longer processing
//                 quit
//               db is "buffer" (default) or "collection".
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const PouchDB = require('pouchdb');

const [, , scenario, rawConfig] = process.argv;
const cfg = JSON.parse(rawConfig || '{}');
const TIMEOUT = cfg.timeoutMs || 15000;
const started = Date.now();

function log(...args) {
  process.stderr.write(`[client +${Date.now() - started}ms] ${args.join(' ')}\n`);
}

function done(result, code = 0) {
  process.stdout.write(JSON.stringify(result) + '\n');
  // live replications keep sockets open: leave explicitly
  setTimeout(() => process.exit(code), 10);
}

function fail(message, extra = {}) {
  done({ok: false, error: message, ...extra}, 1);
}

const timer = setTimeout(() => fail(`scenario ${scenario} timed out after ${TIMEOUT} ms`), TIMEOUT);
timer.unref();

function remoteDb(url, name) {
  const opts = {skip_setup: true};  // never PUT a database: the sidecar creates them
  if (cfg.auth) opts.auth = cfg.auth;
  return new PouchDB(`${url.replace(/\/$/, '')}/${encodeURIComponent(name)}`, opts);
}

function localDb(name) {
  fs.mkdirSync(cfg.dir, {recursive: true});
  return new PouchDB(path.join(cfg.dir, name));
}

function wish(overrides = {}) {
  const movie = (cfg.kind || 'movie') === 'movie';
  const id = cfg.id;
  const doc = movie
    ? {_id: `tmdb:${id}`, type: 'movie', tmdbId: id, title: `Client Movie ${id}`, year: 1999}
    : {_id: `tvdb:${id}`, type: 'series', tvdbId: id, title: `Client Series ${id}`};
  return Object.assign(doc, {action: 'download', requested_at: new Date().toISOString(),
    requested_by: 'pouch-client'}, overrides);
}

function until(predicate, what, ms = TIMEOUT) {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + ms;
    (async function poll() {
      try {
        const v = await predicate();
        if (v) return resolve(v);
      } catch (e) { /* not yet */ }
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(poll, 10);
    })();
  });
}

async function getOrNull(db, id) {
  try { return await db.get(id); } catch (e) { if (e.status === 404) return null; throw e; }
}

// The app's replication set-up: the buffer both ways (wishes up, sidecar's state changes and the
// deletion after the move down), the collection down only. Live, retrying with a short back-off.
function startSync(local, remote) {
  const opts = {live: true, retry: true, back_off_function: (delay) => (delay ? Math.min(delay * 2, 1000) : 100)};
  const events = {denied: [], errors: [], paused: {}, active: 0};
  const buffer = local.buffer.sync(remote.buffer, opts);
  const collection = local.collection.replicate.from(remote.collection, opts);
  for (const [name, rep] of [['buffer', buffer], ['collection', collection]]) {
    rep.on('denied', (err) => {
      // sync() wraps it as {direction, doc: error}; replicate() gives the error itself
      const e = err && err.direction && err.doc ? err.doc : err;
      log(`${name} denied`, e.id, e.reason);
      events.denied.push({db: name, direction: err.direction || 'push', id: e.id || null,
        error: e.error || e.name, reason: e.reason || e.message});
    });
    rep.on('error', (err) => { log(`${name} error`, err && err.message); events.errors.push(String(err && err.message)); });
    rep.on('paused', (err) => { events.paused[name] = (events.paused[name] || 0) + 1; if (err) log(`${name} paused (offline?)`, err.message || err); });
    rep.on('active', () => { events.active++; });
  }
  return {buffer, collection, events, cancel() { buffer.cancel(); collection.cancel(); }};
}

async function watchArrival(local, id) {
  // resolve the moments the title shows up in the local collection and leaves the local buffer
  const t = {};
  const t0 = Date.now();
  const arrived = until(async () => {
    const d = await getOrNull(local.collection, id);
    if (d && t.arrived_ms === undefined) t.arrived_ms = Date.now() - t0;
    return d;
  }, `${id} in the local collection`);
  const states = [];
  const left = until(async () => {
    const d = await getOrNull(local.buffer, id);
    if (d && states[states.length - 1] !== (d.state || 'new')) states.push(d.state || 'new');
    if (!d && states.length && t.left_ms === undefined) t.left_ms = Date.now() - t0;
    return !d && states.length;  // gone after having been there
  }, `${id} to leave the local buffer`);
  return {t0, t, states, done: Promise.all([arrived, left])};
}

async function roundtrip() {
  const local = {buffer: localDb('buffer'), collection: localDb('collection')};
  const remote = {buffer: remoteDb(cfg.server, cfg.buffer), collection: remoteDb(cfg.server, cfg.collection)};
  const sync = startSync(local, remote);
  await until(() => sync.events.paused.buffer && sync.events.paused.collection, 'the first replication round');
  const doc = wish();
  const watch = await watchArrival(local, doc._id);
  await local.buffer.put(doc);
  log('wish written locally', doc._id);
  const [collectionDoc] = await watch.done;
  sync.cancel();
  done({ok: true, id: doc._id, arrived_ms: watch.t.arrived_ms, left_buffer_ms: watch.t.left_ms,
    buffer_states_seen: watch.states, collection_doc: collectionDoc, denied: sync.events.denied});
}

async function invalid() {
  const local = {buffer: localDb('buffer'), collection: localDb('collection')};
  const remote = {buffer: remoteDb(cfg.server, cfg.buffer), collection: remoteDb(cfg.server, cfg.collection)};
  const sync = startSync(local, remote);
  // the local PouchDB has no validate_doc_update: the server refuses it during replication
  const bad = wish(cfg.badFields || {title: '   '});
  await local.buffer.put(bad);
  log('invalid wish written locally', bad._id);
  await until(() => sync.events.denied.find((d) => d.id === bad._id), 'the denied event');
  sync.cancel();
  // the same refusal as a one-shot replication reports it
  const oneShot = await PouchDB.replicate(local.buffer, remote.buffer, {doc_ids: [bad._id]});
  const onServer = await getOrNull(remote.buffer, bad._id);
  done({ok: true, id: bad._id, denied: sync.events.denied,
    one_shot: {ok: oneShot.ok, docs_written: oneShot.docs_written, doc_write_failures: oneShot.doc_write_failures,
      errors: (oneShot.errors || []).map((e) => ({id: e.id, error: e.error || e.name, reason: e.reason || e.message}))},
    on_server: onServer !== null, still_local: (await getOrNull(local.buffer, bad._id)) !== null});
}

// a TCP-level stand-in for the network: while down, connections are refused like on a plane
function makeProxy(target) {
  const t = new URL(target);
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    const up = http.request({host: t.hostname, port: t.port, method: req.method, path: req.url,
      headers: Object.assign({}, req.headers, {host: t.host})}, (upRes) => {
      res.writeHead(upRes.statusCode, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  let port = null;
  return {
    async reserve() {  // a free port that stays ours: listen once, close, reuse the number
      await new Promise((r) => server.listen(0, '127.0.0.1', r));
      port = server.address().port;
      await this.down();
      return `http://127.0.0.1:${port}`;
    },
    up() { return new Promise((r) => server.listen(port, '127.0.0.1', r)); },
    down() {
      return new Promise((r) => {
        for (const s of sockets) s.destroy();
        if (!server.listening) return r();
        server.close(() => r());
      });
    },
  };
}

async function offline() {
  const proxy = makeProxy(cfg.server);
  const viaProxy = await proxy.reserve();
  const local = {buffer: localDb('buffer'), collection: localDb('collection')};
  const remote = {buffer: remoteDb(viaProxy, cfg.buffer), collection: remoteDb(viaProxy, cfg.collection)};
  const direct = remoteDb(cfg.server, cfg.buffer);
  const sync = startSync(local, remote);  // starts offline: errors, retried with back-off
  const doc = wish();
  await local.buffer.put(doc);
  log('wish written while offline', doc._id);
  await new Promise((r) => setTimeout(r, cfg.offlineMs || 1000));
  const reachedWhileOffline = (await getOrNull(direct, doc._id)) !== null;
  const watch = await watchArrival(local, doc._id);
  await proxy.up();
  log('back online');
  const [collectionDoc] = await watch.done;
  sync.cancel();
  await proxy.down();
  done({ok: true, id: doc._id, reached_server_while_offline: reachedWhileOffline,
    arrived_ms_after_reconnect: watch.t.arrived_ms, left_buffer_ms_after_reconnect: watch.t.left_ms,
    collection_doc: collectionDoc});
}

async function secured() {
  const local = {buffer: localDb('buffer'), collection: localDb('collection')};
  const remote = {buffer: remoteDb(cfg.server, cfg.buffer), collection: remoteDb(cfg.server, cfg.collection)};
  const out = {ok: true};
  out.session = (await remote.buffer.fetch('/_session').then((r) => r.json())).userCtx;

  // 1. a plain user may write a proper wish
  const good = wish();
  await local.buffer.put(good);
  const r1 = await PouchDB.replicate(local.buffer, remote.buffer, {doc_ids: [good._id]});
  out.wish = {docs_written: r1.docs_written, doc_write_failures: r1.doc_write_failures,
    on_server: (await getOrNull(remote.buffer, good._id)) !== null};

  // 2. the sidecar marks it failed; the user pulls that and sends it again (state back to "new"),
  //    an update that travels by replication; changing any other sidecar field is refused
  if (cfg.adminAuth) {
    const asSidecar = new PouchDB(`${cfg.server.replace(/\/$/, '')}/${encodeURIComponent(cfg.buffer)}`,
      {skip_setup: true, auth: cfg.adminAuth});
    const onServer = await asSidecar.get(good._id);
    await asSidecar.put(Object.assign(onServer, {state: 'failed', attempts: 1,
      last_error: {code: 'http_400', message: 'A movie with this ID was not found.', at: new Date().toISOString()}}));
    await PouchDB.replicate(remote.buffer, local.buffer, {doc_ids: [good._id]});
    const failed = await local.buffer.get(good._id);
    await local.buffer.put(Object.assign({}, failed, {state: 'new'}));
    const r = await PouchDB.replicate(local.buffer, remote.buffer, {doc_ids: [good._id]});
    const after = await asSidecar.get(good._id);
    out.resend = {pulled_state: failed.state, docs_written: r.docs_written, doc_write_failures: r.doc_write_failures,
      server_state: after.state, server_last_error: after.last_error, server_attempts: after.attempts};
    const mine = await local.buffer.get(good._id);
    await local.buffer.put(Object.assign({}, mine, {attempts: 0}));
    const deniedUpd = [];
    const r2 = await PouchDB.replicate(local.buffer, remote.buffer, {doc_ids: [good._id]})
      .on('denied', (e) => deniedUpd.push({id: e.id, reason: e.reason || e.message}));
    out.forbidden_update = {docs_written: r2.docs_written, doc_write_failures: r2.doc_write_failures,
      denied: deniedUpd, server_attempts: (await asSidecar.get(good._id)).attempts};
  }

  // 3. a new wish may not carry the sidecar's fields
  const sneaky = wish({_id: cfg.kind === 'series' ? `tvdb:${cfg.id + 1}` : `tmdb:${cfg.id + 1}`,
    [cfg.kind === 'series' ? 'tvdbId' : 'tmdbId']: cfg.id + 1, state: 'processing'});
  await local.buffer.put(sneaky);
  const denied = [];
  const r2 = await PouchDB.replicate(local.buffer, remote.buffer, {doc_ids: [sneaky._id]})
    .on('denied', (e) => denied.push({id: e.id, reason: e.reason || e.message}));
  out.sidecar_field = {docs_written: r2.docs_written, doc_write_failures: r2.doc_write_failures, denied,
    on_server: (await getOrNull(remote.buffer, sneaky._id)) !== null};

  // 4. the collection: written locally (nothing stops that), refused when it replicates up
  const fake = {_id: good._id, type: good.type, tmdbId: good.tmdbId, tvdbId: good.tvdbId, title: good.title,
    status: 'downloaded', hasFile: true, monitored: true};
  await local.collection.put(fake);
  const denied3 = [];
  const r3 = await PouchDB.replicate(local.collection, remote.collection)
    .on('denied', (e) => denied3.push({id: e.id, reason: e.reason || e.message}));
  out.collection_push = {docs_written: r3.docs_written, doc_write_failures: r3.doc_write_failures, denied: denied3,
    on_server: (await getOrNull(remote.collection, fake._id)) !== null};

  // 5. ...and refused when written straight to the server
  try {
    await remote.collection.put(Object.assign({}, fake, {_id: `${good._id}0`}));
    out.collection_direct = {written: true};
  } catch (e) {
    out.collection_direct = {written: false, status: e.status, error: e.error || e.name, reason: e.reason || e.message};
  }
  done(out);
}

// --- session: the test drives the client one step at a time

function stats(r) {
  return {ok: r.ok, status: r.status, docs_read: r.docs_read, docs_written: r.docs_written,
    doc_write_failures: r.doc_write_failures,
    errors: (r.errors || []).map((e) => ({id: e.id, rev: e.rev, error: e.error || e.name, reason: e.reason || e.message}))};
}

function deniedEntry(direction, e) {
  return {direction, id: e.id || null, rev: e.rev || null, error: e.error || e.name, reason: e.reason || e.message};
}

// CouchDB's winner: a live leaf before a deleted one, then the longer history, then the rev id
function winnerOf(leaves) {
  const key = (d) => [d._deleted ? 0 : 1, parseInt(d._rev, 10), d._rev.slice(d._rev.indexOf('-') + 1)];
  let best = null;
  for (const d of leaves) {
    const a = key(d), b = best && key(best);
    if (!best || a[0] > b[0] || (a[0] === b[0] && (a[1] > b[1] || (a[1] === b[1] && a[2] > b[2])))) best = d;
  }
  return best;
}

// whether rev is in the history of doc (read with revs: true)
function hasAncestor(doc, rev) {
  const pos = parseInt(rev, 10);
  const hist = doc._revisions;
  const i = hist ? hist.start - pos : -1;
  return i >= 0 && i < hist.ids.length && `${pos}-${hist.ids[i]}` === rev;
}

async function session() {
  const readline = require('readline');
  clearTimeout(timer);  // the test bounds each command; the session lasts until stdin closes
  const local = {buffer: localDb('buffer'), collection: localDb('collection')};
  const remote = {buffer: remoteDb(cfg.server, cfg.buffer), collection: remoteDb(cfg.server, cfg.collection)};
  const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
  const dbOf = (c) => local[c.db || 'buffer'];

  async function liveLeaves(db, id) {
    const rows = await db.get(id, {open_revs: 'all', revs: true}).catch((e) => {
      if (e.status === 404) return [];
      throw e;
    });
    return rows.filter((r) => r.ok).map((r) => r.ok);
  }

  const commands = {
    async wish(c) {
      const doc = wish(c.set || {});
      const r = await local.buffer.put(doc);
      log('wish written locally', doc._id, r.rev);
      return {id: doc._id, rev: r.rev, doc: Object.assign(doc, {_rev: r.rev})};
    },
    async get(c) {
      const doc = await dbOf(c).get(c.id, {conflicts: true, deleted_conflicts: true}).catch((e) => {
        if (e.status === 404) return null;
        throw e;
      });
      return {doc};
    },
    async leaves(c) {
      return {leaves: await liveLeaves(dbOf(c), c.id)};
    },
    async edit(c) {
      const db = dbOf(c);
      const current = c.rev ? await db.get(c.id, {rev: c.rev}) : await db.get(c.id);
      const doc = Object.assign({}, current, c.set || {});
      const r = await db.put(doc);
      log('edited locally', c.id, `${current._rev} -> ${r.rev}`, JSON.stringify(c.set));
      return {rev: r.rev, parent: current._rev, doc: Object.assign(doc, {_rev: r.rev})};
    },
    async remove(c) {
      const db = dbOf(c);
      const current = c.rev ? await db.get(c.id, {rev: c.rev}) : await db.get(c.id);
      const r = await db.remove(current._id, current._rev);
      log('removed locally', c.id, `${current._rev} -> ${r.rev}`);
      return {rev: r.rev, parent: current._rev};
    },
    async sync() {
      // what the app's live sync does in one round: push and pull the buffer at the same time,
      // pull the collection; 'denied' is the per-document refusal of validate_doc_update
      const denied = [];
      const pulled = new Set();
      const buffer = local.buffer.sync(remote.buffer);
      buffer.on('change', (info) => {
        if (info.direction === 'pull') for (const d of info.change.docs || []) pulled.add(d._id);
      });
      buffer.on('denied', (err) => {
        const e = err && err.direction && err.doc ? err.doc : err;
        log('denied', err.direction || 'push', e.id, e.rev || '', e.reason || e.message);
        denied.push(deniedEntry(err.direction || 'push', e));
      });
      const collection = local.collection.replicate.from(remote.collection);
      collection.on('denied', (e) => denied.push(deniedEntry('pull', e)));
      const [b, col] = await Promise.all([buffer, collection]);
      const discarded = await discardsAfterAdd(pulled);
      return {push: stats(b.push || {}), pull: stats(b.pull || {}), collection: stats(col), denied,
        discarded, discard_pending: [...afterAdd]};
    },
    async discard(c) {
      return discard(c.id);
    },
  };

  // docs/frontend.md "Discard": bring the local copy back to the server's version; never while
  // the server's copy says processing (the server refuses anything on top of it, so whatever was
  // written would stay here and outlive the move's deletion: a ghost): then the wish waits in
  // `afterAdd` for a sync that brings its next change (or finds it gone on the server)
  const afterAdd = new Set();
  async function discard(id) {
    let server = [];
    try {
      server = (await remote.buffer.get(id, {open_revs: 'all', revs: true})).filter((r) => r.ok).map((r) => r.ok);
    } catch (e) { if (e.status !== 404) throw e; }
    const keep = winnerOf(server);
    const mine = (await liveLeaves(local.buffer, id))
      .filter((leaf) => !leaf._deleted && !server.some((d) => d._rev === leaf._rev));
    if (mine.length && keep && !keep._deleted && keep.state === 'processing') {
      afterAdd.add(id);
      log('discard', id, 'waits: the server is adding it (', keep._rev, ')');
      return {waiting: true, reverted: [], ended: [], removed: []};
    }
    if (server.length) await local.buffer.bulkDocs(server, {new_edits: false});
    const reverted = [], ended = [];
    for (const leaf of mine) {
      if (keep && !keep._deleted && hasAncestor(leaf, keep._rev)) {
        // the server's version is an ancestor of the refused one: a new revision with its body
        const {_rev, _revisions, ...body} = keep;
        const r = await local.buffer.put(Object.assign(body, {_rev: leaf._rev}));
        reverted.push(leaf._rev);
        log('discarded', id, leaf._rev, '-> the server\'s version again as', r.rev);
      } else {
        // the server deleted the wish or has it on another branch: a tombstone that ends no wish
        // (never a bare remove: that would withdraw the wish on the server)
        const r = await local.buffer.put({_id: id, _rev: leaf._rev, _deleted: true,
          merged_into: keep ? keep._rev : 'discarded'});
        ended.push(leaf._rev);
        log('discarded', id, leaf._rev, '-> merged-away tombstone', r.rev);
      }
    }
    afterAdd.delete(id);
    return {waiting: false, reverted, ended, removed: reverted.concat(ended)};
  }

  // after a sync: the waiting discards (the app runs them when a pulled change names the wish
  // and when its live sync has caught up, which is where a one-shot sync ends); each asks the
  // server again and keeps waiting while its copy still says processing. pulled: the ids whose
  // change the sync brought, reported
  async function discardsAfterAdd(pulled) {
    const done = [];
    for (const id of [...afterAdd]) {
      const r = await discard(id);
      if (!r.waiting) done.push(Object.assign({id, pulled: pulled.has(id)}, r));
    }
    return done;
  }

  const rl = readline.createInterface({input: process.stdin});
  for await (const line of rl) {
    if (!line.trim()) continue;
    let c;
    try { c = JSON.parse(line); } catch (e) { out({ok: false, error: `not JSON: ${line}`}); continue; }
    if (c.cmd === 'quit') break;
    const fn = commands[c.cmd];
    if (!fn) { out({ok: false, error: `unknown command ${c.cmd}`}); continue; }
    try {
      out(Object.assign({ok: true}, await fn(c)));
    } catch (e) {
      out({ok: false, error: e && (e.stack || e.message) ? `${e.name || ''} ${e.status || ''} ${e.message}\n${e.stack}` : String(e)});
    }
  }
  await Promise.all([local.buffer.close(), local.collection.close()]).catch(() => {});
  setTimeout(() => process.exit(0), 10);
}

const scenarios = {roundtrip, invalid, offline, secured, session};
if (!scenarios[scenario]) {
  fail(`unknown scenario ${scenario}; known: ${Object.keys(scenarios).join(', ')}`);
} else {
  scenarios[scenario]().catch((e) => fail(e && e.stack ? e.stack : String(e)));
}
