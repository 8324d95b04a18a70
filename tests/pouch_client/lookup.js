#!/usr/bin/env node
// A frontend's title search as the Ionic app does it: npm `pouchdb` with a local lookups database
// (leveldb in a temp folder) synced live with the server. No HTTP call to the sidecar: the lookup
// goes up by replication, the sidecar's answer comes back down the same way. Run by
// tests/test_lookups.py:
//
//   node tests/pouch_client/lookup.js '<json config>'
//
// config: {server, db, dir, kind: "movie"|"series", term, auth?: {username, password},
//          badFields?: {...}, remove?: bool, timeoutMs?}
// Writes {_id: "lookup:<uuid>", type: "lookup", kind, term, requested_at, requested_by: <user>}
// (plus badFields) locally and waits until the answer (state answered/failed) replicates back,
// or, with badFields, until the server refuses it ('denied'). With remove, the answered lookup is
// then deleted locally (the frontend's own) and the script waits until the server has the
// deletion. Prints one JSON object on stdout; progress goes to stderr.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const PouchDB = require('pouchdb');

const cfg = JSON.parse(process.argv[2] || '{}');
const TIMEOUT = cfg.timeoutMs || 15000;
const started = Date.now();

function log(...args) {
  process.stderr.write(`[lookup +${Date.now() - started}ms] ${args.join(' ')}\n`);
}

function done(result, code = 0) {
  process.stdout.write(JSON.stringify(result) + '\n');
  setTimeout(() => process.exit(code), 10);  // live replications keep sockets open
}

const timer = setTimeout(() => done({ok: false, error: `timed out after ${TIMEOUT} ms`}, 1), TIMEOUT);
timer.unref();

function until(predicate, what) {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + TIMEOUT;
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

async function main() {
  fs.mkdirSync(cfg.dir, {recursive: true});
  const local = new PouchDB(path.join(cfg.dir, 'lookups'));
  const remoteOpts = {skip_setup: true};  // never PUT a database: the sidecar creates them
  if (cfg.auth) remoteOpts.auth = cfg.auth;
  const remote = new PouchDB(`${cfg.server.replace(/\/$/, '')}/${encodeURIComponent(cfg.db)}`, remoteOpts);

  const denied = [];
  const sync = local.sync(remote, {live: true, retry: true,
    back_off_function: (delay) => (delay ? Math.min(delay * 2, 1000) : 100)});
  sync.on('denied', (err) => {
    const e = err && err.direction && err.doc ? err.doc : err;
    log('denied', e.id, e.reason);
    denied.push({id: e.id || null, error: e.error || e.name, reason: e.reason || e.message});
  });
  sync.on('error', (err) => log('sync error', err && err.message));

  const doc = Object.assign({_id: `lookup:${crypto.randomUUID()}`, type: 'lookup', kind: cfg.kind || 'movie',
    term: cfg.term, requested_at: new Date().toISOString()},
  cfg.auth ? {requested_by: cfg.auth.username} : {}, cfg.badFields || {});
  const t0 = Date.now();
  await local.put(doc);
  log('lookup written locally', doc._id, JSON.stringify(doc.term));

  if (cfg.badFields) {
    await until(() => denied.find((d) => d.id === doc._id), 'the denied event');
    sync.cancel();
    const onServer = await getOrNull(remote, doc._id);
    return done({ok: true, id: doc._id, denied, on_server: onServer !== null});
  }

  const answer = await until(async () => {
    const d = await getOrNull(local, doc._id);
    return d && (d.state === 'answered' || d.state === 'failed') ? d : null;
  }, 'the answer to replicate back');
  const answeredMs = Date.now() - t0;
  log('answer arrived', answer.state, `${(answer.results || []).length} results`);

  let removedOnServer = null;
  if (cfg.remove) {
    await local.remove(answer);
    await until(async () => {
      try { await remote.get(doc._id); return false; } catch (e) { return e.status === 404; }
    }, 'the deletion to reach the server');
    removedOnServer = true;
  }
  sync.cancel();
  done({ok: true, id: doc._id, answered_ms: answeredMs, doc: answer, denied, removed_on_server: removedOnServer});
}

main().catch((e) => done({ok: false, error: String(e && e.stack || e)}, 1));
