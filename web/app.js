// Movietracker: a small frontend on the sidecar's CouchDB contract (docs/frontend.md).
// Plain JS + PouchDB. The page never calls the sidecar: it keeps local copies of the four
// databases in the browser (IndexedDB) and live-syncs them with CouchDB over CORS:
//   buffers     both ways: wishes go up; the sidecar's state / last_error and the deletion after
//               the move come down
//   collections down only (CouchDB refuses writes from anyone but the sidecar)
//
// It says what is true: offline (the browser says so, or the last push/pull failed), a wish
// "waiting to sync" (saved here, not on the server yet), "sent" (on the server), "refused" (the
// server's validate_doc_update said no), "cannot be sent" (a wish the server can never take, which
// must not hold up the others), a CORS setting that blocks this page's origin.
(function () {
  'use strict';

  const $ = (sel) => document.querySelector(sel);
  const KINDS = ['movie', 'series'];
  const ID_FIELD = {movie: 'tmdbId', series: 'tvdbId'};
  const PREFIX = {movie: 'tmdb:', series: 'tvdb:'};
  const APP_NAME = {movie: 'Radarr', series: 'Sonarr'};
  const STATE_LABEL = {new: 'sent', processing: 'adding…', retry: 'will retry', failed: 'failed',
    refused: 'refused', moved: 'out of date', 'discard-pending': 'being added', unsent: 'waiting to sync',
    unsendable: 'cannot be sent'};
  // a push that fails the same way this many times in a row, while the server answers, is stuck
  const STUCK_AFTER = 2;

  const app = {
    config: null,
    couchUrl: null,
    local: {},          // kind -> {buffer: PouchDB, collection: PouchDB}
    docs: {},           // kind -> {buffer: Map, collection: Map}
    syncs: [],          // running replications (cancelled on sign-in / sign-out / back online)
    gen: 0,             // which startSync() the running replications belong to
    reps: {},           // replication name -> {kind, direction, state: active|live|error, err, failures, sig}
    browserOffline: navigator.onLine === false,
    cors: null,         // this page's origin, when CouchDB's CORS settings block it
    diagnosing: null,   // the network diagnosis running (CORS or offline?)
    stuck: {},          // kind -> {reason, detail}: its push fails the same way again and again
    isolating: new Set(),   // kinds whose unsent wishes are being tried one by one
    denied: loadMap('mt-denied'),           // `${local db}/${id}` -> {rev, reason, afterAdd?}
    unsent: loadMap('mt-unsent'),           // same key -> rev written here, not known on the server yet
    unsendable: loadMap('mt-unsendable'),   // same key -> {rev, reason}: never pushed (see sendable)
    serverRevs: new Set(),  // `${key}@${rev}` the server has (pulled, or pushed in this session)
    lastAdded: null,        // {kind, id, rev, title}: the form's message follows that wish
    discarding: new Map(),  // key -> the discard running for it
    openDetails: new Set(), // `${kind}/${id}` whose "Details" the person opened (kept across renders)
    renderQueued: false,
  };

  // What web/collection.js and web/search.js share with this page (the same local PouchDBs, not a
  // second copy of each): MTApp.ready resolves to {config, couchUrl, tag, local, credentials} once
  // config.json is read and the local databases are open, and rejects when they cannot be.
  let shareReady, shareFailed;
  const shared = new Promise((resolve, reject) => { shareReady = resolve; shareFailed = reject; });
  shared.catch(() => {});  // nobody listening (a page without collection.js) is no error
  window.MTApp = {ready: shared, credentials};

  // ---------------------------------------------------------------- start

  async function main() {
    if (!window.PouchDB) {
      setSync('error', 'PouchDB did not load');
      shareFailed(new Error('PouchDB did not load'));
      return;
    }
    let cfg;
    try {
      const resp = await fetch('config.json', {cache: 'no-store'});
      if (!resp.ok) throw new Error(`config.json: HTTP ${resp.status}`);
      cfg = await resp.json();
    } catch (e) {
      setSync('error', 'no config');
      showMessage('#form-message', `Cannot load config.json: ${e.message}`, 'error');
      shareFailed(e);
      return;
    }
    app.config = cfg;
    app.couchUrl = reachableUrl(cfg.couchdb_url);
    $('#server-info').textContent = `CouchDB ${app.couchUrl} · ${Object.values(cfg.databases).join(', ')}`;

    const tag = shortHash(app.couchUrl);
    for (const kind of KINDS) {
      const names = dbNames(kind);
      app.local[kind] = {
        buffer: new PouchDB(`mt-${tag}-${names.buffer}`),
        collection: new PouchDB(`mt-${tag}-${names.collection}`),
      };
      app.docs[kind] = {buffer: new Map(), collection: new Map()};
    }
    shareReady({config: cfg, couchUrl: app.couchUrl, tag, local: app.local, credentials});
    await Promise.all(KINDS.flatMap((kind) => ['buffer', 'collection'].map((part) => follow(kind, part))));
    wireForm();
    wireSignIn();
    wireConnectivity();
    startSync();
  }

  function dbNames(kind) {
    const d = app.config.databases;
    return kind === 'movie' ? {buffer: d.movies_buffer, collection: d.movies}
      : {buffer: d.series_buffer, collection: d.series};
  }

  // A CouchDB on 127.0.0.1 as the sidecar sees it is not 127.0.0.1 for a phone on the LAN:
  // keep the port, use the host the page came from. (CORS must allow that origin too.)
  function reachableUrl(url) {
    const u = new URL(url);
    const loop = (h) => h === 'localhost' || h === '[::1]' || h === '::1' || /^127\./.test(h);
    if (loop(u.hostname) && !loop(location.hostname)) u.hostname = location.hostname;
    return u.toString().replace(/\/$/, '');
  }

  function shortHash(s) {
    let h = 5381;
    for (let i = 0; i < s.length; i++) h = ((h * 33) ^ s.charCodeAt(i)) >>> 0;
    return h.toString(36);
  }

  // ---------------------------------------------------------------- local data, kept live

  // A buffer doc changed here after the page started, in a revision the server did not send (the
  // pull's `change` lists what it wrote, before the local feed reports it): written on this
  // device (by this page, another tab, an older version of the app), so not on the server yet.
  // What was there before the start keeps what localStorage says of it.
  async function follow(kind, part) {
    const db = app.local[kind][part];
    const map = app.docs[kind][part];
    const startSeq = part === 'buffer' ? (await db.info()).update_seq : null;
    db.changes({since: 0, live: true, include_docs: true})
      .on('change', (ch) => {
        if (ch.id.startsWith('_design/')) return;
        if (ch.deleted) {
          map.delete(ch.id);
          if (part === 'buffer') forgetLocal(db, ch.id);  // refusals and the outbox entry are over with
        } else {
          map.set(ch.id, ch.doc);
          const key = keyOf(db, ch.id);
          if (part === 'buffer' && ch.seq > startSeq && !app.serverRevs.has(`${key}@${ch.doc._rev}`) &&
              app.unsent[key] !== ch.doc._rev) {
            markUnsent(db, ch.id, ch.doc._rev);
          }
        }
        queueRender();
      })
      .on('error', (e) => console.error('local changes', kind, part, e));
  }

  // ---------------------------------------------------------------- replication

  function credentials() {
    try { return JSON.parse(sessionStorage.getItem('mt-auth') || 'null'); } catch (e) { return null; }
  }

  function remote(name) {
    // skip_setup: the sidecar creates the databases; never PUT one from here
    const opts = {skip_setup: true, fetch: couchFetch};
    const auth = credentials();
    if (auth) opts.auth = auth;
    return new PouchDB(`${app.couchUrl}/${encodeURIComponent(name)}`, opts);
  }

  // Every request to CouchDB goes through here: a request that fails without an answer
  // (TypeError: offline, or CORS) starts a diagnosis; an error answer that is not CouchDB's JSON
  // (a proxy's HTML 413 page) is turned into one, so PouchDB reports its status instead of a
  // JSON parse error that looks like a network failure.
  async function couchFetch(url, opts) {
    let resp;
    try {
      resp = await fetch(url, opts);
    } catch (e) {
      diagnoseNetwork();
      throw e;
    }
    if (app.cors) { app.cors = null; updateSync(); }
    const type = resp.headers.get('Content-Type') || '';
    if (resp.ok || type.includes('json')) return resp;
    const text = await resp.text().catch(() => '');
    const title = (/<title>([^<]*)<\/title>/i.exec(text) || [])[1];
    const reason = `${resp.status} ${resp.statusText || ''}${title ? ` (${title.trim()})` : ''}`.replace(/\s+/g, ' ').trim();
    return new Response(JSON.stringify({error: `http_${resp.status}`, reason}),
      {status: resp.status, statusText: resp.statusText, headers: {'Content-Type': 'application/json'}});
  }

  // A fetch to CouchDB failed without an answer. The browser offline: say offline. Otherwise ask
  // CouchDB twice: once as PouchDB does (CORS applies: credentials, a preflighted Content-Type),
  // once opaque (no-cors: CORS does not apply). The opaque one answering while the other fails is
  // CORS blocking this origin; both failing is the server (or the network) being unreachable.
  function diagnoseNetwork() {
    if (app.diagnosing || navigator.onLine === false) return;
    app.diagnosing = (async () => {
      const auth = credentials();
      const headers = {Accept: 'application/json', 'Content-Type': 'application/json'};
      if (auth) headers.Authorization = basicAuth(auth.username, auth.password);
      try {
        await fetch(`${app.couchUrl}/`, {credentials: 'include', headers, cache: 'no-store'});
        app.cors = null;  // it works now: a blip
      } catch (e) {
        try {
          await fetch(`${app.couchUrl}/`, {mode: 'no-cors', credentials: 'omit', cache: 'no-store'});
          app.cors = location.origin;   // reachable, but not for this origin
        } catch (e2) {
          app.cors = null;              // unreachable
        }
      }
    })().finally(() => {
      setTimeout(() => { app.diagnosing = null; }, 1000);  // at most one a second
      updateSync();
      queueRender();
    });
  }

  function corsMessage() {
    return `This page's origin ${app.cors} is not allowed by CouchDB's CORS settings: add it to cors/origins (docs/frontend.md)`;
  }

  // short, so a wish made offline goes as soon as the server answers again; the browser's
  // `online` event restarts everything at once anyway
  const backOff = (delay) => (delay ? Math.min(delay * 2, 3000) : 250);

  function startSync() {
    for (const s of app.syncs) s.cancel();
    app.syncs = [];
    app.reps = {};
    app.stuck = {};
    const gen = ++app.gen;
    const opts = {live: true, retry: true, back_off_function: backOff};
    setSync('starting', 'connecting…');
    for (const kind of KINDS) {
      const names = dbNames(kind);
      const local = app.local[kind];
      // the push skips wishes the server can never take (they would block every later one)
      const sync = local.buffer.sync(remote(names.buffer), {...opts, push: {filter: pushFilter(kind)}});
      sync.on('error', () => {});  // each direction reports its own (below)
      app.syncs.push(sync);
      watch(gen, `${kind}-push`, sync.push, kind, 'push');
      watch(gen, `${kind}-pull`, sync.pull, kind, 'pull');
      // pulled only: nothing is ever pushed, so nothing can be refused
      const coll = local.collection.replicate.from(remote(names.collection), opts);
      app.syncs.push(coll);
      watch(gen, `${kind}-collection`, coll, null, 'pull');
    }
    updateSync();
  }

  // One direction of one replication. PouchDB's sync() hides a failing push (its `paused` says
  // nothing of errors), so each direction is followed on its own: `paused(err)` and
  // `requestError` (every failed try, with retry: true) mean it failed; `change` and `paused`
  // without an error mean it went through.
  // kind: whose buffer this replication syncs; null: a collection, pulled only
  function watch(gen, name, rep, kind, direction) {
    const db = kind ? app.local[kind].buffer : null;
    const r = {kind, direction, state: 'active', err: null, failures: 0, sig: null};
    app.reps[name] = r;
    const current = () => gen === app.gen;  // a cancelled replication's late events count for nothing
    rep.on('active', () => {
      if (!current()) return;
      r.state = 'active';
      updateSync();
    }).on('paused', (err) => {
      if (!current()) return;
      if (err) {
        r.state = 'error';
        r.err = err;
        if (!err.status) diagnoseNetwork();
        updateSync();
        return;
      }
      wentThrough(r);
      if (direction === 'push') confirmSent(kind);
      // caught up with the server: a discard waiting for an add that has finished meanwhile
      // (while the page was closed, or a run that failed offline) goes now
      if (direction === 'pull' && kind) discardsAfterAdd(kind, null);
      updateSync();
      queueRender();
    }).on('requestError', (err) => {
      if (!current()) return;
      failedTry(r, err);
    }).on('change', (info) => {
      if (!current()) return;
      const busy = r.state === 'active';
      wentThrough(r);
      if (busy) r.state = 'active';  // a batch went through; more may follow before it pauses
      const docs = (info && info.docs) || [];
      if (db) for (const d of docs) app.serverRevs.add(`${keyOf(db, d._id)}@${d._rev}`);
      if (direction === 'push') {
        forgetAccepted(db, docs);
        forgetSent(db, docs);
      }
      // a change of a wish whose discard waits for the add: the add may have finished
      if (direction === 'pull' && kind) discardsAfterAdd(kind, docs.map((d) => d._id));
      updateSync();
      queueRender();
    }).on('denied', (e) => {
      // validate_doc_update refused a document: keep the reason next to the wish, for the
      // revision that was refused
      if (!current() || !e || !e.id || !db) return;
      rememberDenied(db, e.id, e.rev, e.reason || e.message || 'no reason given')
        .then(queueRender, (err) => console.error('denied', e.id, err));
    }).on('error', (err) => {
      // for good (401/403: PouchDB does not retry those): a sign-in starts it again
      if (!current()) return;
      r.state = 'error';
      r.err = err;
      updateSync();
    });
  }

  function wentThrough(r) {
    r.state = 'live';
    r.err = null;
    r.failures = 0;
    r.sig = null;
    app.browserOffline = false;
    if (r.direction === 'push' && app.stuck[r.kind]) {
      delete app.stuck[r.kind];
      queueRender();
    }
  }

  // A failed try. Without an answer from the server: offline (or CORS). With one (413, 400, 500):
  // the server refuses what is pushed; the same refusal again means the push makes no progress.
  function failedTry(r, err) {
    r.state = 'error';
    r.err = err;
    const status = err && err.status;
    if (!status) {
      diagnoseNetwork();
    } else if (r.direction === 'push' && status !== 401 && status !== 403) {
      const sig = `${status} ${err.name || ''} ${err.reason || err.message || ''}`;
      r.failures = r.sig === sig ? r.failures + 1 : 1;
      r.sig = sig;
      if (r.failures >= STUCK_AFTER && !app.stuck[r.kind]) {
        app.stuck[r.kind] = {reason: serverRefusal(err), status};
        queueRender();
        // one wish the server cannot take must not hold up the others: find it
        if (status >= 400 && status < 500 && ![404, 408, 429].includes(status)) isolate(r.kind);
      }
    }
    updateSync();
  }

  // the server's refusal of a push as a sentence
  function serverRefusal(err) {
    const code = err.name || err.error || `HTTP ${err.status}`;
    const detail = err.reason || err.message || '';
    if (err.status === 413) return `the server refuses it as too large (${code}${detail ? `: ${detail}` : ''})`;
    return `the server answers ${err.status} (${code}${detail ? `: ${detail}` : ''})`;
  }

  function wireConnectivity() {
    window.addEventListener('offline', () => {
      app.browserOffline = true;
      updateSync();
      queueRender();
    });
    // back online: sync now, not when the back-off says so
    window.addEventListener('online', () => {
      app.browserOffline = false;
      startSync();
      queueRender();
    });
  }

  function syncView() {
    const reps = Object.values(app.reps);
    const auth = reps.find((r) => r.err && (r.err.status === 401 || r.err.status === 403));
    if (app.cors) return ['cors', 'blocked by CORS'];
    if (auth) return ['auth', auth.err.status === 403 && credentials() ? 'no access' : 'sign-in needed'];
    if (app.browserOffline || reps.some((r) => r.state === 'error' && !(r.err && r.err.status))) {
      return ['offline', 'offline'];
    }
    if (Object.keys(app.stuck).length) return ['stuck', 'some changes cannot be sent'];
    if (reps.some((r) => r.state === 'error')) return ['error', 'server error · retrying'];
    if (reps.length && reps.every((r) => r.state === 'live')) return ['live', 'live'];
    return ['syncing', 'syncing…'];
  }

  function updateSync() {
    const [state, text] = syncView();
    setSync(state, text);
    const signin = $('#signin');
    if (state === 'auth') {
      if (signin.dataset.needed !== 'yes') {
        signin.dataset.needed = 'yes';
        signin.open = true;
        // signed in, and yet: say why the form is back
        const auth = credentials();
        const status = Math.max(...Object.values(app.reps).map((r) => (r.err && r.err.status) || 0));
        if (auth && status === 403) {
          showMessage('#signin-message', `CouchDB refuses ${auth.username} access to the databases (not a member?): sign in as another user, or ask the household's admin.`, 'error');
        } else if (auth) {
          showMessage('#signin-message', `CouchDB no longer accepts the password of ${auth.username}: sign in again.`, 'error');
        }
      }
    } else {
      delete signin.dataset.needed;
    }
    renderSignIn();
    queueRender();
  }

  function setSync(state, text) {
    const el = $('#sync-status');
    el.dataset.state = state;
    el.textContent = text;
    const hint = {auth: 'Sign in to CouchDB', cors: 'What is wrong', stuck: 'What cannot be sent',
      offline: 'Changes are kept on this device and sent when you are online'}[state];
    el.title = hint || 'Replication with CouchDB';
  }

  // the badge leads to what it is about
  function onBadge() {
    const state = $('#sync-status').dataset.state;
    if (state === 'auth') {
      const signin = $('#signin');
      signin.open = true;
      signin.scrollIntoView({block: 'start'});
      $(credentials() ? '#signout' : '#signin-user').focus({preventScroll: true});
    } else if (!$('#problems').hidden) {
      $('#problems').scrollIntoView({block: 'start'});
    }
  }

  // ---------------------------------------------------------------- what is on the server, what is not
  //
  // Wishes written here are "waiting to sync" until the push reports them (a `change` listing
  // that revision) or, when the push has caught up, the server says it has them (revs_diff). Kept
  // in localStorage, so a reload while offline still knows.

  function loadMap(name) {
    try { return JSON.parse(localStorage.getItem(name) || '{}') || {}; } catch (e) { return {}; }
  }

  function saveMaps() {
    localStorage.setItem('mt-denied', JSON.stringify(app.denied));
    localStorage.setItem('mt-unsent', JSON.stringify(app.unsent));
    localStorage.setItem('mt-unsendable', JSON.stringify(app.unsendable));
  }

  const keyOf = (db, id) => `${db.name}/${id}`;

  function markUnsent(db, id, rev) {
    app.unsent[keyOf(db, id)] = rev;
    saveMaps();
    queueRender();
  }

  function forgetSent(db, docs) {
    let changed = false;
    for (const doc of docs) {
      const key = keyOf(db, doc._id);
      if (app.unsent[key] === doc._rev) {
        delete app.unsent[key];
        changed = true;
      }
    }
    if (changed) { saveMaps(); queueRender(); }
  }

  const isUnsent = (db, doc) => app.unsent[keyOf(db, doc._id)] === doc._rev;

  // the push has caught up: whatever it did not report (a reload in between, a race with a
  // write) is asked of the server
  async function confirmSent(kind) {
    const db = app.local[kind].buffer;
    const prefix = `${db.name}/`;
    const ask = {};
    for (const [key, rev] of Object.entries(app.unsent)) {
      // refused and unsendable revisions are known not to be there
      const refused = (app.denied[key] && app.denied[key].rev === rev) || (app.unsendable[key] && app.unsendable[key].rev === rev);
      if (key.startsWith(prefix) && !refused) ask[key.slice(prefix.length)] = [rev];
    }
    if (!Object.keys(ask).length) return;
    try {
      const missing = await remote(dbNames(kind).buffer).revsDiff(ask);
      const have = Object.entries(ask).filter(([id, [rev]]) => !(missing[id] && missing[id].missing.includes(rev)))
        .map(([id, [rev]]) => ({_id: id, _rev: rev}));
      for (const d of have) app.serverRevs.add(`${keyOf(db, d._id)}@${d._rev}`);
      forgetSent(db, have);
    } catch (e) {
      // offline again: they stay waiting
    }
  }

  // ---------------------------------------------------------------- wishes the server can never take
  //
  // CouchDB 3 answers a whole `_bulk_docs` with 413 for one document over its size limit, and
  // PouchDB then retries the same batch for ever: one such wish would hold up every later one.
  // So the page checks a wish before writing it (the form), the push leaves out a local wish that
  // fails the same check (a wish written some other way), and a push that keeps failing the same
  // way while the server answers is taken apart: each unsent wish is tried on its own, the ones
  // the server refuses are left out from then on. Each is shown as "cannot be sent" with Discard.

  const SIDECAR_FIELDS = ['state', 'attempts', 'last_error', 'next_attempt_at', 'claimed_by', 'claimed_at'];
  const KNOWN_FIELDS = ['_id', '_rev', 'type', 'tmdbId', 'tvdbId', 'title', 'year', 'action', 'requested_at',
    'requested_by', 'instance', 'options'].concat(SIDECAR_FIELDS);
  const ACTIONS = ['download', 'monitor', 'search', 'unmonitor', 'remove'];
  const MAX_WISH_JSON = 16384;

  // The shape rules of couch/_design/buffer/validate_doc_update.js (the rules that need the
  // server's version or the user's roles are the server's to apply): null, or why not.
  function wishProblem(doc, kind) {
    for (const key of Object.keys(doc)) {
      if (!KNOWN_FIELDS.includes(key)) return `${key} is not a field of a wish (known: ${KNOWN_FIELDS.slice(2).join(', ')})`;
    }
    const size = JSON.stringify(doc).length;
    if (size > MAX_WISH_JSON) return `a wish is at most 16 KB of JSON; this one is ${size.toLocaleString('en')} characters`;
    if (doc.type !== 'movie' && doc.type !== 'series') return 'type must be "movie" or "series"';
    if (kind && doc.type !== kind) return `this database takes ${kind} requests only, not ${doc.type}`;
    const idField = ID_FIELD[doc.type];
    if (!isPosInt(doc[idField])) return `${idField} must be a positive whole number`;
    if (doc._id !== PREFIX[doc.type] + doc[idField]) return `_id must be "${PREFIX[doc.type]}${doc[idField]}"`;
    if (typeof doc.title !== 'string' || !doc.title.trim()) return 'title must not be empty';
    if (Array.from(doc.title).length > 500) return 'title is longer than 500 characters';
    if (doc.year !== undefined && doc.year !== null && !(isPosInt(doc.year) && doc.year >= 1870 && doc.year <= 2200)) {
      return 'year must be a whole number between 1870 and 2200';
    }
    if (!ACTIONS.includes(doc.action)) return `action must be one of ${ACTIONS.join(', ')}`;
    if (!isTime(doc.requested_at)) return 'requested_at must be an ISO 8601 time';
    if (doc.requested_by !== undefined && (typeof doc.requested_by !== 'string' || Array.from(doc.requested_by).length > 200)) {
      return 'requested_by must be a string of at most 200 characters';
    }
    if (doc.instance !== undefined && !(typeof doc.instance === 'string' && /^[A-Za-z0-9_-]{1,50}$/.test(doc.instance))) {
      return 'instance must be an instance name such as "default" or "4k"';
    }
    if (doc.options !== undefined && (doc.options === null || typeof doc.options !== 'object' || Array.isArray(doc.options))) {
      return 'options must be an object';
    }
    return null;
  }

  function isPosInt(v) { return typeof v === 'number' && v % 1 === 0 && v > 0 && v < 2147483648; }

  function isTime(v) {
    const m = typeof v === 'string' && /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))$/.exec(v);
    if (!m) return false;
    const d = new Date(`${m[1]}-${m[2]}-${m[3]}T00:00:00Z`);
    return !isNaN(d) && d.getUTCDate() === +m[3] && +m[4] <= 23 && +m[5] <= 59 && +m[6] <= 59;
  }

  // the push's filter: false leaves a doc out (its checkpoint moves on; a later revision, such as
  // Discard's, is pushed as usual). The source text is the same for both kinds, so the
  // replication keeps one checkpoint.
  function pushFilter(kind) {
    return (doc) => sendable(kind, doc);
  }

  function sendable(kind, doc) {
    if (doc._deleted || doc._id.startsWith('_design/')) return true;
    const db = app.local[kind].buffer;
    const key = keyOf(db, doc._id);
    const u = app.unsendable[key];
    if (u && u.rev === doc._rev) return false;
    if (app.serverRevs.has(`${key}@${doc._rev}`)) return true;  // the server's own version
    const problem = wishProblem(doc, kind);
    if (!problem) return true;
    if (isUnsent(db, doc)) markUnsendable(db, doc._id, doc._rev, problem);
    else confirmUnsendable(kind, doc._id, doc._rev, problem);
    return false;
  }

  // A wish that fails the check and was not written here since the start: the server may have it
  // already (written before its rules were what they are now, then pulled). Ask; only a revision
  // the server does not have is "cannot be sent".
  async function confirmUnsendable(kind, id, rev, problem) {
    const db = app.local[kind].buffer;
    try {
      const missing = await remote(dbNames(kind).buffer).revsDiff({[id]: [rev]});
      if (!(missing[id] && missing[id].missing.includes(rev))) {
        app.serverRevs.add(`${keyOf(db, id)}@${rev}`);
        return;
      }
    } catch (e) {
      // no answer: it fails the server's rules, so it cannot be sent unless the server has it
    }
    markUnsendable(db, id, rev, problem);
  }

  function markUnsendable(db, id, rev, reason) {
    app.unsendable[keyOf(db, id)] = {rev, reason};
    saveMaps();
    queueRender();
  }

  function unsendableReason(db, doc) {
    const u = app.unsendable[keyOf(db, doc._id)];
    return u && u.rev === doc._rev ? u.reason : null;
  }

  // The push of this kind is stuck: try each local wish the server does not have on its own, as
  // replication writes it (its leaves, new_edits: false). One the server refuses whole is left out
  // of the push from then on; the others are on the server; then the push starts again.
  async function isolate(kind) {
    if (app.isolating.has(kind)) return;
    app.isolating.add(kind);
    const db = app.local[kind].buffer;
    const server = remote(dbNames(kind).buffer);
    try {
      const feed = await db.changes({style: 'all_docs'});
      const ask = {};
      for (const row of feed.results) {
        if (row.id.startsWith('_design/')) continue;
        ask[row.id] = row.changes.map((c) => c.rev);
      }
      const missing = Object.keys(ask).length ? await server.revsDiff(ask) : {};
      for (const [id, {missing: revs}] of Object.entries(missing)) {
        const key = keyOf(db, id);
        const shown = await db.get(id).catch(() => null);
        if (shown && (unsendableReason(db, shown) || deniedReason(db, shown))) continue;
        const leaves = (await db.get(id, {open_revs: revs, revs: true})).filter((r) => r.ok).map((r) => r.ok);
        if (!leaves.length) continue;
        try {
          const res = await server.bulkDocs(leaves, {new_edits: false});
          const refused = (res || []).find((row) => row && row.error);
          if (refused && ['forbidden', 'unauthorized'].includes(String(refused.name || refused.error).toLowerCase())) {
            await rememberDenied(db, id, null, refused.reason || refused.message || 'no reason given');
          } else {
            for (const leaf of leaves) app.serverRevs.add(`${key}@${leaf._rev}`);
            forgetSent(db, leaves);
          }
        } catch (e) {
          if (!e.status || e.status === 401 || e.status === 403 || e.status >= 500) throw e;  // not this wish's fault
          markUnsendable(db, id, shown ? shown._rev : leaves[0]._rev, serverRefusal(e));
        }
      }
      startSync();
    } catch (e) {
      console.warn('finding the wish that blocks the push', kind, e && e.message);
    } finally {
      app.isolating.delete(kind);
      queueRender();
    }
  }

  // ---------------------------------------------------------------- refusals (denied), kept per revision
  //
  // A revision the server refuses stays in the local database as it is (PouchDB cannot undo it)
  // and replication reports it once, as `denied`; its checkpoint then moves on. So the page
  // keeps the refusal (localStorage, to survive a reload) keyed by local database and id, with
  // the revision it was about: a later revision of the same wish gets its own verdict.

  // rev: the refused revision when the server names it, else the local winner now, which is what
  // replication just pushed unless the person edited it again meanwhile
  async function rememberDenied(db, id, rev, reason) {
    let doc;
    try {
      doc = await db.get(id, rev ? {rev} : {});
    } catch (e) {
      if (e.status === 404) return;  // deleted here meanwhile
      throw e;
    }
    // a refused deletion (a withdrawal while the sidecar was adding it) needs no mark: the
    // server's live version beats a deleted leaf here too, once replication brings it
    if (doc._deleted) return;
    // a refused revision is pushed (and refused) again whenever a pulled change touches its doc:
    // keep a discard that waits for the add
    const old = app.denied[keyOf(db, id)];
    app.denied[keyOf(db, id)] = old && old.rev === doc._rev && old.afterAdd
      ? {rev: doc._rev, reason, afterAdd: true} : {rev: doc._rev, reason};
    saveMaps();
  }

  // a revision the server took is no longer refused (a later edit of a refused one can pass)
  function forgetAccepted(db, docs) {
    let changed = false;
    for (const doc of docs) {
      const d = app.denied[keyOf(db, doc._id)];
      if (d && d.rev === doc._rev) {
        delete app.denied[keyOf(db, doc._id)];
        changed = true;
      }
    }
    if (changed) { saveMaps(); queueRender(); }
  }

  // the doc is gone here (deleted): nothing of it is refused, unsent or unsendable any more
  function forgetLocal(db, id) {
    const key = keyOf(db, id);
    if (!(key in app.denied) && !(key in app.unsent) && !(key in app.unsendable)) return;
    delete app.denied[key];
    delete app.unsent[key];
    delete app.unsendable[key];
    saveMaps();
  }

  function deniedReason(db, doc) {
    const d = app.denied[keyOf(db, doc._id)];
    return d && d.rev === doc._rev ? d.reason : null;
  }

  // Discard pressed while the server was adding the title: this revision is dropped once the
  // add has finished (see discard)
  function discardPending(db, doc) {
    const d = app.denied[keyOf(db, doc._id)];
    return Boolean(d && d.rev === doc._rev && d.afterAdd);
  }

  function markDiscardAfterAdd(db, id, rev) {
    const d = app.denied[keyOf(db, id)];
    app.denied[keyOf(db, id)] = {rev, reason: d && d.rev === rev ? d.reason : null, afterAdd: true};
    saveMaps();
  }

  // run the discards that wait for an add (ids: only those wishes; null: all of this kind).
  // Each asks the server again and keeps waiting while its copy still says processing.
  function discardsAfterAdd(kind, ids) {
    const prefix = `${app.local[kind].buffer.name}/`;
    for (const [key, d] of Object.entries(app.denied)) {
      if (!d.afterAdd || !key.startsWith(prefix)) continue;
      const id = key.slice(prefix.length);
      if (ids && !ids.includes(id)) continue;
      // offline or the like: it stays marked, the next change or catch-up tries again
      discard(kind, id).catch((e) => console.warn('discard after the add', id, e && e.message));
    }
  }

  // The collection already holds the wish this buffer doc stands for: the collection doc was
  // written from it (same requested_at), or the doc still says `processing` and the title is
  // there. The sidecar deletes a wish when it moves it, so such a local copy is stale: only a
  // deletion not pulled yet, or a local revision the server refused, keeps it here.
  function movedTo(kind, doc) {
    const c = app.docs[kind].collection.get(doc._id);
    if (!c) return null;
    const sameWish = c.requested && c.requested.at && c.requested.at === doc.requested_at;
    return sameWish || (doc.state === 'processing' && c.status !== 'removed') ? c : null;
  }

  // ---------------------------------------------------------------- adding a title

  function wireForm() {
    const kind = $('#kind');
    const syncLabel = () => {
      const movie = kind.value === 'movie';
      $('#ext-id-label').textContent = movie ? 'TMDB id' : 'TVDB id';
      $('#ext-id').placeholder = movie ? '603' : '81189';
      $('#title').placeholder = movie ? 'The Matrix' : 'Breaking Bad';
    };
    kind.addEventListener('change', syncLabel);
    syncLabel();
    $('#requested-by').value = localStorage.getItem('mt-requested-by') || '';
    $('#add-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      addTitle().catch((e) => formMessage(`Could not save: ${e.message}`, 'error'));
    });
  }

  // The wish from the form, checked with the same rules as the server's validate_doc_update
  // before anything is written: a person gets the message at once, and a wish the server would
  // refuse never sits on this device.
  function buildWish() {
    const kind = $('#kind').value;
    const idText = $('#ext-id').value.trim();
    const extId = Number(idText);
    const title = $('#title').value.trim();
    const yearText = $('#year').value.trim();
    const by = $('#requested-by').value.trim();
    const action = (document.querySelector('input[name="action"]:checked') || {}).value;
    const idName = kind === 'movie' ? 'TMDB' : 'TVDB';
    if (!/^\d+$/.test(idText) || !(extId > 0 && extId < 2147483648)) throw new UserError(`${idName} id must be a positive whole number`);
    if (!title) throw new UserError('title must not be empty');
    if (Array.from(title).length > 500) throw new UserError(`title is longer than 500 characters (it has ${Array.from(title).length})`);
    const doc = {
      _id: PREFIX[kind] + extId,
      type: kind,
      [ID_FIELD[kind]]: extId,
      title,
      action: action === 'monitor' ? 'monitor' : 'download',
      requested_at: new Date().toISOString(),
    };
    if (yearText) {
      const year = Number(yearText);
      if (!/^\d+$/.test(yearText) || year < 1870 || year > 2200) throw new UserError('year must be a whole number between 1870 and 2200');
      doc.year = year;
    }
    if (by) {
      if (Array.from(by).length > 200) throw new UserError('your name is longer than 200 characters');
      doc.requested_by = by;
    }
    const problem = wishProblem(doc, kind);
    if (problem) throw new UserError(problem);
    return doc;
  }

  class UserError extends Error {}

  async function addTitle() {
    let doc;
    try {
      doc = buildWish();
    } catch (e) {
      if (e instanceof UserError) return formMessage(e.message, 'error');
      throw e;
    }
    const kind = doc.type;
    const have = app.docs[kind].collection.get(doc._id);
    if (have && have.status !== 'removed') {
      return formMessage(`“${have.title}” is already in the collection (${have.status}).`, 'error');
    }
    if (app.docs[kind].buffer.has(doc._id)) {
      return formMessage(`${doc._id} is already pending.`, 'error');
    }
    localStorage.setItem('mt-requested-by', doc.requested_by || '');
    const db = app.local[kind].buffer;
    let res;
    try {
      res = await db.put(doc);
    } catch (e) {
      if (e.status === 409) return formMessage(`${doc._id} is already pending.`, 'error');
      throw e;
    }
    markUnsent(db, doc._id, res.rev);
    app.lastAdded = {kind, id: doc._id, rev: res.rev, title: doc.title};
    renderFormMessage();
    for (const sel of ['#ext-id', '#title', '#year']) $(sel).value = '';
    $('#ext-id').focus();
  }

  function formMessage(text, kind) {
    app.lastAdded = null;
    showMessage('#form-message', text, kind);
  }

  // What became of the last wish added: "Sent" only once the server has it.
  function renderFormMessage() {
    const last = app.lastAdded;
    if (!last) return;
    const db = app.local[last.kind].buffer;
    const doc = {_id: last.id, _rev: last.rev};
    const [state] = syncView();
    let text, kind = 'ok';
    if (deniedReason(db, doc)) {
      [text, kind] = [`“${last.title}” was refused by the server: ${deniedReason(db, doc)}`, 'error'];
    } else if (unsendableReason(db, doc)) {
      [text, kind] = [`“${last.title}” cannot be sent: ${unsendableReason(db, doc)}`, 'error'];
    } else if (!isUnsent(db, doc)) {
      text = `Sent “${last.title}”. It shows under Pending until the sidecar adds it.`;
    } else if (state === 'auth') {
      [text, kind] = [`Saved “${last.title}” on this device; it will be sent once you sign in.`, 'warn'];
    } else if (state === 'cors') {
      [text, kind] = [`Saved “${last.title}” on this device; it cannot be sent while CouchDB blocks this page (see above).`, 'warn'];
    } else if (state === 'stuck') {
      [text, kind] = [`Saved “${last.title}” on this device; it is not sent yet (see “Some changes cannot be sent” above).`, 'warn'];
    } else if (state === 'offline' || state === 'error') {
      [text, kind] = [`Saved “${last.title}” on this device; it will be sent when you are online.`, 'warn'];
    } else {
      text = `Saved “${last.title}” on this device; sending…`;
    }
    showMessage('#form-message', text, kind);
  }

  async function resend(kind, id) {
    const db = app.local[kind].buffer;
    const doc = await db.get(id);
    if (doc.state !== 'failed') return;
    doc.state = 'new';  // the one change a person may make to the sidecar's fields
    const res = await db.put(doc);
    markUnsent(db, id, res.rev);
  }

  // The tombstone carries the wish's requested_at, so the sidecar knows which wish ended (a
  // newer wish for the same title, made elsewhere, has another requested_at and lives on).
  async function withdraw(kind, id) {
    const db = app.local[kind].buffer;
    const doc = await db.get(id);
    if (doc.state === 'processing') return;  // the server refuses it: the add may be under way
    await db.put({_id: doc._id, _rev: doc._rev, _deleted: true, requested_at: doc.requested_at});
  }

  // Discard: bring the local copy back to the server's version. A local revision cannot be
  // un-written (the browser's PouchDB has no purge), and re-pulling brings nothing: the server's
  // revisions are already known here. So, after copying the server's leaves in as they are
  // (new_edits: false keeps their revision ids, as replication does), each live local leaf the
  // server does not have is ended on top:
  // - if the server's live version is an ancestor of that leaf (the usual refused edit), a new
  //   revision with exactly the server's body: the only way to make that version show again.
  //   Pushed, it changes nothing against the version it descends from, so the server takes it;
  // - otherwise (the server deleted the wish, never had it, or its version is on another branch)
  //   a tombstone saying `merged_into` (the server's winner): the sidecar's conflict policy reads
  //   that as "a branch merged away, ends no wish", so when replication carries it up it never
  //   withdraws the real wish. The server's own leaves then win here exactly as they do there.
  // Never while the server's winner says `processing`: the server refuses any revision on top
  // of a wish being added (an edit and a deletion alike), so whatever Discard wrote would stay
  // here only and, once the move's deletion arrives, win over it locally: a ghost. Then nothing
  // is written; the wish is marked "discard once the add finishes" and this runs again when the
  // next change of it arrives by sync (or the sync catches up), until the server's copy is no
  // longer processing. Never a bare delete (db.remove) of a refused revision either: that
  // tombstone would withdraw the wish on the server.
  function discard(kind, id) {
    const key = keyOf(app.local[kind].buffer, id);
    if (!app.discarding.has(key)) {
      app.discarding.set(key, discardNow(kind, id).finally(() => app.discarding.delete(key)));
    }
    return app.discarding.get(key);
  }

  async function discardNow(kind, id) {
    const db = app.local[kind].buffer;
    const server = await serverLeaves(remote(dbNames(kind).buffer), id);
    const serverRevs = new Set(server.map((d) => d._rev));
    const keep = winnerOf(server);
    const mine = (await localLeaves(db, id)).filter((leaf) => !leaf._deleted && !serverRevs.has(leaf._rev));
    if (mine.length && keep && !keep._deleted && keep.state === 'processing') {
      const shown = await db.get(id);
      markDiscardAfterAdd(db, id, shown._rev);
      queueRender();
      return 'waiting';
    }
    if (server.length) {
      for (const d of server) app.serverRevs.add(`${keyOf(db, id)}@${d._rev}`);
      await db.bulkDocs(server, {new_edits: false});
    }
    for (const leaf of mine) {
      if (keep && !keep._deleted && hasAncestor(leaf, keep._rev)) {
        const {_rev, _revisions, ...serverBody} = keep;
        const res = await db.put({...serverBody, _rev: leaf._rev});
        markUnsent(db, id, res.rev);
      } else {
        await db.put({_id: id, _rev: leaf._rev, _deleted: true, merged_into: keep ? keep._rev : 'discarded'});
      }
    }
    const key = keyOf(db, id);
    delete app.denied[key];
    delete app.unsendable[key];
    saveMaps();
    queueRender();
    return 'discarded';
  }

  // every leaf of a doc in the local database, live and deleted, with its revision history
  async function localLeaves(db, id) {
    try {
      const rows = await db.get(id, {open_revs: 'all', revs: true});
      return rows.filter((r) => r.ok).map((r) => r.ok);
    } catch (e) {
      if (e.status === 404) return [];
      throw e;
    }
  }

  // whether rev is in the history of doc (read with revs: true)
  function hasAncestor(doc, rev) {
    const pos = parseInt(rev, 10);
    const hist = doc._revisions;
    const i = hist ? hist.start - pos : -1;
    return i >= 0 && i < hist.ids.length && `${pos}-${hist.ids[i]}` === rev;
  }

  // every leaf of a doc on the server, live and deleted, with its revision history
  async function serverLeaves(remoteDb, id) {
    try {
      const rows = await remoteDb.get(id, {open_revs: 'all', revs: true});
      return rows.filter((r) => r.ok).map((r) => r.ok);
    } catch (e) {
      if (e.status === 404) return [];  // never reached the server
      throw e;
    }
  }

  // CouchDB's winner: a live leaf before a deleted one, then the longer history, then the rev id
  function winnerOf(leaves) {
    const key = (d) => [d._deleted ? 0 : 1, parseInt(d._rev, 10), d._rev.slice(d._rev.indexOf('-') + 1)];
    let best = null;
    for (const d of leaves) {
      if (!best) { best = d; continue; }
      const a = key(d), b = key(best);
      if (a[0] > b[0] || (a[0] === b[0] && (a[1] > b[1] || (a[1] === b[1] && a[2] > b[2])))) best = d;
    }
    return best;
  }

  function showMessage(sel, text, kind) {
    const el = $(sel);
    el.textContent = text;
    el.dataset.kind = kind || '';
  }

  // ---------------------------------------------------------------- sign-in (basic auth, this tab only)

  function basicAuth(username, password) {
    return 'Basic ' + btoa(unescape(encodeURIComponent(`${username}:${password}`)));
  }

  function wireSignIn() {
    const auth = credentials();
    if (auth) $('#signin-user').value = auth.username;
    $('#sync-status').addEventListener('click', onBadge);
    $('#signin-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const username = $('#signin-user').value.trim();
      const password = $('#signin-password').value;
      showMessage('#signin-message', 'Signing in…', '');
      let resp;
      try {
        resp = await fetch(`${app.couchUrl}/_session`, {
          headers: {Authorization: basicAuth(username, password), Accept: 'application/json'},
        });
      } catch (e) {
        await checkNetwork();
        return showMessage('#signin-message', app.cors ? corsMessage()
          : `CouchDB at ${app.couchUrl} cannot be reached (${e.message}): offline, or the server is down.`, 'error');
      }
      const body = await resp.json().catch(() => ({}));
      if (!resp.ok || !body.userCtx || body.userCtx.name !== username) {
        const why = resp.status === 401 ? 'wrong user name or password' : (body.reason || `HTTP ${resp.status}`);
        return showMessage('#signin-message', `Not signed in: ${why}.`, 'error');
      }
      sessionStorage.setItem('mt-auth', JSON.stringify({username, password}));
      showMessage('#signin-message', '', '');
      $('#signin-password').value = '';
      startSync();
      renderSignIn();
      $('#signout').focus({preventScroll: true});
    });
    $('#signout').addEventListener('click', () => {
      sessionStorage.removeItem('mt-auth');
      showMessage('#signin-message', 'Signed out.', 'ok');
      startSync();
      renderSignIn();
    });
    renderSignIn();
  }

  async function checkNetwork() {
    app.diagnosing = null;
    diagnoseNetwork();
    await app.diagnosing;
  }

  // signed in: who, and Sign out; otherwise the form (at the top of the page when it is needed)
  function renderSignIn() {
    const auth = credentials();
    const needed = $('#signin').dataset.needed === 'yes';
    const signedIn = Boolean(auth) && !needed;
    $('#signin-form').hidden = signedIn;
    $('#signin-done').hidden = !signedIn;
    $('#signin-who').textContent = signedIn ? `Signed in as ${auth.username}.` : '';
    $('#signin-summary').textContent = signedIn ? 'CouchDB user' : 'CouchDB sign-in';
  }

  // ---------------------------------------------------------------- rendering

  function queueRender() {
    if (app.renderQueued) return;
    app.renderQueued = true;
    setTimeout(() => { app.renderQueued = false; render(); }, 30);
  }

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k.startsWith('data-')) node.setAttribute(k, v);
      else if (k === 'text') node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
    return node;
  }

  function when(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    if (isNaN(d)) return iso;
    const today = new Date().toDateString() === d.toDateString();
    return today ? d.toLocaleTimeString([], {hour: '2-digit', minute: '2-digit', second: '2-digit'})
      : d.toLocaleString([], {dateStyle: 'medium', timeStyle: 'short'});
  }

  // the start of a long text (a wish that got into the local database some other way may carry
  // megabytes)
  const short = (text, max = 500) => (String(text).length > max ? `${String(text).slice(0, max)}…` : String(text));

  function titleLine(doc) {
    return el('span', {class: 'name'}, el('span', {class: 'title', text: short(doc.title || doc._id, 200)}),
      doc.year ? el('span', {class: 'year', text: ` (${doc.year})`}) : null);
  }

  function render() {
    if (!app.config) return;
    renderProblems();
    renderPending();
    renderCollection();
    renderFormMessage();
  }

  // At the top, what keeps changes from the server: CORS, offline, a stuck push, wishes that
  // cannot be sent (each with Discard).
  function renderProblems() {
    const box = $('#problems');
    const parts = [];
    const [state] = syncView();
    if (app.cors) {
      parts.push(el('p', {class: 'error', 'data-testid': 'cors', text: corsMessage()}));
    } else if (state === 'offline') {
      parts.push(el('p', {class: 'hint', 'data-testid': 'offline',
        text: 'Offline: what you add is saved on this device and sent when you are online again.'}));
    } else if (state === 'error') {
      const r = Object.values(app.reps).find((x) => x.state === 'error' && x.err);
      parts.push(el('p', {class: 'hint', 'data-testid': 'server-error',
        text: `CouchDB answers with an error (${r ? serverRefusal(r.err).replace(/^the server answers /, '') : 'unknown'}); ` +
          'what you add is saved on this device and sent once it works again.'}));
    }
    const blocked = [];
    for (const kind of KINDS) {
      const db = app.local[kind].buffer;
      for (const doc of app.docs[kind].buffer.values()) {
        const reason = unsendableReason(db, doc);
        if (reason) blocked.push({kind, doc, reason});
      }
    }
    const stuckKinds = KINDS.filter((k) => app.stuck[k]);
    if (stuckKinds.length || blocked.length) {
      const reasons = [...stuckKinds.map((k) => app.stuck[k].reason), ...blocked.map((b) => b.reason)];
      const ids = new Set(blocked.map((b) => b.doc._id));
      const waiting = [];
      for (const kind of stuckKinds) {
        for (const doc of app.docs[kind].buffer.values()) {
          if (isUnsent(app.local[kind].buffer, doc) && !ids.has(doc._id)) waiting.push({kind, doc});
        }
      }
      const list = el('ul', {class: 'stuck-list'});
      for (const {kind, doc, reason} of blocked) {
        list.append(el('li', {'data-id': doc._id, 'data-testid': 'unsendable'},
          el('span', {text: `${doc._id} (${short(doc.title || 'no title', 60)}): ${reason}`}), ' ',
          discardButton(kind, doc._id)));
      }
      for (const {kind, doc} of waiting) {
        list.append(el('li', {'data-id': doc._id, 'data-testid': 'held-up'},
          el('span', {text: `${doc._id} (${short(doc.title || 'no title', 60)}): waiting behind it`}), ' ',
          discardButton(kind, doc._id)));
      }
      const distinct = [...new Set(reasons)];
      const headline = distinct.length === 1 ? `Some changes cannot be sent: ${distinct[0]}`
        : `Some changes cannot be sent (${blocked.length + waiting.length}):`;
      parts.push(el('div', {'data-testid': 'stuck'},
        el('p', {class: 'error', text: headline}),
        list,
        el('p', {class: 'hint', text: stuckKinds.length
          ? 'Finding the change the server refuses; the others are sent once it is left out.'
          : 'The other changes are sent as usual. Discard removes such a change from this device.'})));
    }
    box.replaceChildren(...parts);
    box.hidden = parts.length === 0;
  }

  function discardButton(kind, id) {
    const b = el('button', {type: 'button', class: 'secondary small', 'data-action': 'discard', text: 'Discard'});
    b.addEventListener('click', () => {
      b.disabled = true;
      discard(kind, id).catch((e) => { b.disabled = false; alert(`Could not discard (is the server reachable?): ${e.message}`); });
    });
    return b;
  }

  function renderPending() {
    const items = [];
    for (const kind of KINDS) {
      for (const doc of app.docs[kind].buffer.values()) items.push({kind, doc});
    }
    items.sort((a, b) => String(b.doc.requested_at).localeCompare(String(a.doc.requested_at)));
    const frag = document.createDocumentFragment();
    for (const {kind, doc} of items) frag.append(pendingItem(kind, doc));
    $('#pending').replaceChildren(frag);
    $('#pending-count').textContent = String(items.length);
    $('#pending-empty').hidden = items.length > 0;
  }

  // What a wish shows as. A refused local revision, or a copy of a wish the collection already
  // holds, is shown as such and can be discarded: it must never read "adding…" (the server will
  // never move a revision it refused). A wish written here and not on the server yet is
  // "waiting to sync", whatever its state field says.
  function shownState(kind, doc) {
    const db = app.local[kind].buffer;
    if (discardPending(db, doc)) return 'discard-pending';
    if (deniedReason(db, doc)) return 'refused';
    if (unsendableReason(db, doc)) return 'unsendable';
    if (movedTo(kind, doc)) return 'moved';
    if (isUnsent(db, doc)) return 'unsent';
    return doc.state || 'new';
  }

  function pendingItem(kind, doc) {
    const db = app.local[kind].buffer;
    const state = doc.state || 'new';
    const shown = shownState(kind, doc);
    const refused = deniedReason(db, doc);
    const unsendable = unsendableReason(db, doc);
    const moved = movedTo(kind, doc);
    const meta = el('div', {class: 'meta'},
      el('span', {class: 'kind', text: kind === 'movie' ? 'Movie' : 'Series'}),
      el('span', {text: `${doc._id} · ${short(doc.action || 'download', 20)}`}),
      doc.requested_by ? el('span', {text: `by ${String(doc.requested_by).slice(0, 200)}`}) : null,
      el('span', {'data-testid': 'requested-at', 'data-at': doc.requested_at, text: when(doc.requested_at)}));
    const details = [];
    if (refused) details.push(el('p', {class: 'error', 'data-testid': 'refusal', text: `Refused by the server: ${refused}`}));
    if (unsendable) details.push(el('p', {class: 'error', 'data-testid': 'unsendable', text: `Cannot be sent: ${unsendable}`}));
    if (moved) {
      details.push(el('p', {class: 'hint', 'data-testid': 'moved',
        text: `Already in the collection (${moved.status || 'added'}); this copy is out of date.`}));
    }
    if (shown === 'discard-pending') {
      details.push(el('p', {class: 'hint', 'data-testid': 'discard-pending',
        text: 'Being added on the server — your change will be dropped when it finishes.'}));
    } else if (shown === 'refused' || shown === 'moved') {
      details.push(el('p', {class: 'hint', text: 'Discard brings back what the server has.'}));
    } else if (shown === 'unsendable') {
      details.push(el('p', {class: 'hint', text: 'The server can never take it; the other wishes are sent without it. Discard removes it from this device.'}));
    } else if (shown === 'unsent') {
      details.push(el('p', {class: 'hint', 'data-testid': 'unsent', text: unsentHint()}));
    } else {
      details.push(...sidecarDetails(kind, doc, state));
    }
    const buttons = el('div', {class: 'buttons'}, ...itemButtons(kind, doc, shown));
    return el('li', {class: `item pending state-${shown}`, 'data-id': doc._id, 'data-kind': kind,
      'data-state': shown, 'data-rev': doc._rev},
    el('div', {class: 'line'}, titleLine(doc),
      el('span', {class: `badge state-${shown}`, 'data-testid': 'state', text: STATE_LABEL[shown] || shown})),
    meta, ...details, buttons.childElementCount ? buttons : null);
  }

  function unsentHint() {
    const [state] = syncView();
    if (state === 'offline' || state === 'error') return 'Saved on this device; it will be sent when you are online.';
    if (state === 'auth') return 'Saved on this device; it will be sent once you sign in.';
    if (state === 'cors') return 'Saved on this device; it cannot be sent while CouchDB blocks this page.';
    if (state === 'stuck') return 'Saved on this device; held up behind a change the server refuses (see above).';
    return 'Saved on this device; sending…';
  }

  // The sidecar's word on a wish: a short sentence for people, Radarr's/Sonarr's own words in a
  // <details>, and when it tries again.
  function sidecarDetails(kind, doc, state) {
    const out = [];
    const e = doc.last_error;
    if (e && e.message) {
      // every render builds the list anew: an opened "Details" stays open
      const key = `${kind}/${doc._id}`;
      const summary = el('summary', {text: 'Details'});
      const more = el('details', {class: 'detail', open: app.openDetails.has(key) ? '' : null}, summary,
        el('p', {'data-testid': 'detail'},
          el('code', {text: `${e.code ? `${e.code}: ` : ''}${e.message}`}),
          e.at ? el('span', {class: 'at', text: ` (${when(e.at)})`}) : null));
      // (click, not toggle: toggle comes later, maybe after a render replaced this element)
      summary.addEventListener('click', () => {
        if (more.open) app.openDetails.delete(key); else app.openDetails.add(key);
      });
      out.push(el('div', {class: 'error', 'data-testid': 'last-error'},
        el('p', {class: 'why', 'data-testid': 'why', text: humanError(kind, e, state)}), more));
    }
    if (state === 'retry' && doc.next_attempt_at) {
      out.push(el('p', {class: 'hint', text: `Attempt ${(doc.attempts || 0) + 1} at ${when(doc.next_attempt_at)}`}));
    } else if (doc.attempts) {
      out.push(el('p', {class: 'hint', text: `${doc.attempts} attempt${doc.attempts === 1 ? '' : 's'} so far`}));
    }
    return out;
  }

  // last_error {code, message} (sidecar/arr.py's codes) as one sentence a person can act on
  function humanError(kind, e, state) {
    const arr = APP_NAME[kind] || 'Radarr/Sonarr';
    const idName = kind === 'series' ? 'TVDB' : 'TMDB';
    const code = String(e.code || '');
    const msg = String(e.message || '');
    const status = Number((/^http_(\d{3})$/.exec(code) || [])[1]);
    const again = state === 'retry' ? ' The sidecar tries again by itself.' : '';
    if (/ExistsValidator/.test(code) && /QualityProfile|RootFolder|LanguageProfile/.test(code)) {
      return `${arr}'s settings do not match the sidecar's (quality profile, root folder or language profile); the household's admin has to fix them, then send it again.`;
    }
    if (/(Movie|Series)ExistsValidator/.test(code)) return `It is already in ${arr}.`;
    if ((status === 404 || (status >= 400 && status < 500) || !code || /Validator/.test(code)) && /not\s*found/i.test(msg)) {
      const site = kind === 'series' ? 'thetvdb.com' : 'themoviedb.org';
      return `${arr} does not know this ${idName} id. Check it on ${site}, then send it again, or withdraw the wish.`;
    }
    if (code === 'timeout') return `${arr} did not answer in time.${again}`;
    if (code === 'unreachable' || code === 'request_failed') return `The sidecar cannot reach ${arr}.${again}`;
    if (code === 'unauthorized') return `${arr} refused the sidecar's API key; the household's admin has to fix the sidecar's settings.${again}`;
    if (code === 'redirected' || /^not_(radarr|sonarr)$/.test(code)) return `The sidecar's address for ${arr} looks wrong; the household's admin has to fix its settings.${again}`;
    if (code === 'not_configured') return `The sidecar has no ${arr} configured for this.${again}`;
    if (code === 'http_409') return `${arr} was busy with a conflicting change.${again}`;
    if (status >= 500 || status === 408 || status === 429) return `${arr} had a problem (error ${status}).${again}`;
    if (code === 'collection_write') return `The sidecar could not record it in the collection.${again}`;
    if (code === 'unknown_action') return 'The sidecar does not know what to do with this wish.';
    if (state === 'retry') return `Adding it to ${arr} did not work.${again}`;
    return `${arr} refused this wish.`;
  }

  // What a person may do, as the contract allows (docs/data-model.md): send a failed wish again;
  // withdraw it unless the sidecar is adding it (the server refuses that); discard a refused,
  // unsendable or out-of-date local copy (nothing else: editing or withdrawing a refused
  // revision builds on it).
  function itemButtons(kind, doc, shown) {
    const button = (action, cls, text, fn, failure) => {
      const b = el('button', {type: 'button', class: cls, 'data-action': action, text});
      b.addEventListener('click', () => {
        b.disabled = true;
        fn(kind, doc._id).catch((e) => { b.disabled = false; alert(`${failure}: ${e.message}`); });
      });
      return b;
    };
    if (shown === 'discard-pending') return [];  // it goes by itself once the add finishes
    if (shown === 'refused' || shown === 'moved' || shown === 'unsendable') {
      return [button('discard', 'secondary', 'Discard', discard, 'Could not discard (is the server reachable?)')];
    }
    const out = [];
    if (shown === 'failed') out.push(button('resend', 'resend', 'Send again', resend, 'Could not send again'));
    if (shown !== 'processing') out.push(button('withdraw', 'secondary', 'Withdraw', withdraw, 'Could not withdraw'));
    return out;
  }

  function renderCollection() {
    const text = $('#filter-text').value.trim().toLowerCase();
    const only = $('#filter-kind').value;
    const items = [];
    let total = 0;
    for (const kind of KINDS) {
      for (const doc of app.docs[kind].collection.values()) {
        if (doc.type !== 'movie' && doc.type !== 'series') continue;
        total++;
        if (only && only !== kind) continue;
        if (text && !String(doc.title || '').toLowerCase().includes(text)) continue;
        items.push({kind, doc});
      }
    }
    items.sort((a, b) => String(b.doc.updated_at || '').localeCompare(String(a.doc.updated_at || ''))
      || String(a.doc.title).localeCompare(String(b.doc.title)));
    const frag = document.createDocumentFragment();
    for (const {kind, doc} of items) {
      const status = doc.status || 'wanted';
      const facts = [];
      facts.push(el('span', {class: 'kind', text: kind === 'movie' ? 'Movie' : 'Series'}));
      if (kind === 'series' && doc.statistics && doc.statistics.episodeCount) {
        const s = doc.statistics;
        facts.push(el('span', {text: `${s.episodeFileCount || 0}/${s.episodeCount} episodes`}));
      }
      if (doc.instance && doc.instance !== 'default') facts.push(el('span', {text: doc.instance}));
      if (doc.requested && doc.requested.by) facts.push(el('span', {text: `asked by ${doc.requested.by}`}));
      if (doc.updated_at) facts.push(el('span', {text: `updated ${when(doc.updated_at)}`}));
      frag.append(el('li', {class: `item status-${status}`, 'data-id': doc._id, 'data-kind': kind, 'data-status': status},
        el('div', {class: 'line'}, titleLine(doc),
          el('span', {class: `badge status-${status}`, 'data-testid': 'status', text: status})),
        el('div', {class: 'meta'}, ...facts)));
    }
    $('#collection').replaceChildren(frag);
    $('#collection-count').textContent = String(total);
    $('#collection-empty').hidden = items.length > 0;
    $('#collection-empty').textContent = total ? 'Nothing matches the filter.' : 'The collection is empty.';
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('#filter-text').addEventListener('input', queueRender);
    $('#filter-kind').addEventListener('change', queueRender);
    render();
    main().catch((e) => { console.error(e); setSync('error', 'error'); shareFailed(e); });
  });
})();
