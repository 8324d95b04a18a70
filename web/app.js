// Movietracker: a small frontend on the sidecar's CouchDB contract (docs/frontend.md).
// Plain JS + PouchDB. The page never calls the sidecar: it keeps local copies of the four
// databases in the browser (IndexedDB) and live-syncs them with CouchDB over CORS:
//   buffers     both ways: wishes go up; the sidecar's state / last_error and the deletion after
//               the move come down
//   collections down only (CouchDB refuses writes from anyone but the sidecar)
(function () {
  'use strict';

  const $ = (sel) => document.querySelector(sel);
  const KINDS = ['movie', 'series'];
  const ID_FIELD = {movie: 'tmdbId', series: 'tvdbId'};
  const PREFIX = {movie: 'tmdb:', series: 'tvdb:'};
  const STATE_LABEL = {new: 'waiting', processing: 'adding…', retry: 'will retry', failed: 'failed',
    refused: 'refused', moved: 'out of date', 'discard-pending': 'being added'};

  const app = {
    config: null,
    couchUrl: null,
    local: {},          // kind -> {buffer: PouchDB, collection: PouchDB}
    docs: {},           // kind -> {buffer: Map, collection: Map}
    syncs: [],          // running replications (cancel on sign-in / sign-out)
    repState: {},       // replication name -> 'active' | 'live' | 'offline' | 'error'
    lastSyncError: null,
    denied: loadDenied(),   // `${local db}/${id}` -> {rev, reason, afterAdd?}, kept in localStorage
    discarding: new Map(),  // same key -> the discard running for it
    renderQueued: false,
  };

  // ---------------------------------------------------------------- start

  async function main() {
    if (!window.PouchDB) {
      setSync('error', 'PouchDB did not load');
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
      for (const part of ['buffer', 'collection']) follow(kind, part);
    }
    wireForm();
    wireSignIn();
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

  function follow(kind, part) {
    const db = app.local[kind][part];
    const map = app.docs[kind][part];
    db.changes({since: 0, live: true, include_docs: true})
      .on('change', (ch) => {
        if (ch.id.startsWith('_design/')) return;
        if (ch.deleted) {
          map.delete(ch.id);
          if (part === 'buffer') forgetDenied(db, ch.id);  // that refusal is over with
        } else {
          map.set(ch.id, ch.doc);
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
    const opts = {skip_setup: true};  // the sidecar creates the databases; never PUT one from here
    const auth = credentials();
    if (auth) opts.auth = auth;
    return new PouchDB(`${app.couchUrl}/${encodeURIComponent(name)}`, opts);
  }

  function startSync() {
    for (const s of app.syncs) s.cancel();
    app.syncs = [];
    app.repState = {};
    const opts = {
      live: true,
      retry: true,
      // back off to at most 10 s, so a phone coming back online catches up soon
      back_off_function: (delay) => (delay ? Math.min(delay * 2, 10000) : 500),
    };
    setSync('starting', 'connecting…');
    for (const kind of KINDS) {
      const names = dbNames(kind);
      const local = app.local[kind];
      watch(`${kind}-buffer`, local.buffer.sync(remote(names.buffer), opts), kind);
      // pulled only: nothing is ever pushed, so nothing can be refused
      watch(`${kind}-collection`, local.collection.replicate.from(remote(names.collection), opts), null);
    }
  }

  // kind: whose buffer this replication syncs (its pushes can be refused); null: a collection,
  // pulled only
  function watch(name, rep, kind) {
    const db = kind ? app.local[kind].buffer : null;
    app.syncs.push(rep);
    app.repState[name] = 'active';
    rep.on('active', () => { app.repState[name] = 'active'; updateSync(); })
      .on('paused', (err) => {
        app.repState[name] = err ? 'offline' : 'live';
        if (err) app.lastSyncError = err;
        updateSync();
        // caught up with the server: a discard waiting for an add that has finished meanwhile
        // (while the page was closed, or a run that failed offline) goes now
        if (!err && kind) discardsAfterAdd(kind, null);
      })
      .on('change', (info) => {
        if (app.repState[name] !== 'active') { app.repState[name] = 'live'; updateSync(); }
        const docs = (info && info.change && info.change.docs) || [];
        if (info && info.direction === 'push') forgetAccepted(db, docs);
        // a change of a wish whose discard waits for the add: the add may have finished
        if (info && info.direction === 'pull' && kind) discardsAfterAdd(kind, docs.map((d) => d._id));
      })
      .on('denied', (ev) => {
        // validate_doc_update refused a document (sync wraps it as {direction, doc}): keep the
        // reason next to the wish, for the revision that was refused
        const e = ev && ev.direction && ev.doc ? ev.doc : ev;
        if (e && e.id && db) {
          rememberDenied(db, e.id, e.rev, e.reason || e.message || 'no reason given')
            .then(queueRender, (err) => console.error('denied', e.id, err));
        }
      })
      .on('error', (err) => {
        app.repState[name] = 'error';
        app.lastSyncError = err;
        updateSync();
      });
  }

  function updateSync() {
    const states = Object.values(app.repState);
    const err = app.lastSyncError;
    if (states.some((s) => s === 'error' || s === 'offline')) {
      const status = err && err.status;
      if (status === 401 || status === 403) {
        setSync('auth', 'sign-in needed');
        $('#signin').open = true;
      } else {
        setSync('offline', 'offline · retrying');
      }
    } else if (states.every((s) => s === 'live')) {
      app.lastSyncError = null;
      setSync('live', 'live');
    } else {
      setSync('syncing', 'syncing…');
    }
  }

  function setSync(state, text) {
    const el = $('#sync-status');
    el.dataset.state = state;
    el.textContent = text;
  }

  // ---------------------------------------------------------------- refusals (denied), kept per revision
  //
  // A revision the server refuses stays in the local database as it is (PouchDB cannot undo it)
  // and replication reports it once, as `denied`; its checkpoint then moves on. So the page
  // keeps the refusal (localStorage, to survive a reload) keyed by local database and id, with
  // the revision it was about: a later revision of the same wish gets its own verdict.

  function loadDenied() {
    try { return JSON.parse(localStorage.getItem('mt-denied') || '{}'); } catch (e) { return {}; }
  }

  function saveDenied() {
    localStorage.setItem('mt-denied', JSON.stringify(app.denied));
  }

  const deniedKey = (db, id) => `${db.name}/${id}`;

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
    const old = app.denied[deniedKey(db, id)];
    app.denied[deniedKey(db, id)] = old && old.rev === doc._rev && old.afterAdd
      ? {rev: doc._rev, reason, afterAdd: true} : {rev: doc._rev, reason};
    saveDenied();
  }

  // a revision the server took is no longer refused (a later edit of a refused one can pass)
  function forgetAccepted(db, docs) {
    let changed = false;
    for (const doc of docs) {
      const d = app.denied[deniedKey(db, doc._id)];
      if (d && d.rev === doc._rev) {
        delete app.denied[deniedKey(db, doc._id)];
        changed = true;
      }
    }
    if (changed) { saveDenied(); queueRender(); }
  }

  function forgetDenied(db, id) {
    if (!(deniedKey(db, id) in app.denied)) return;
    delete app.denied[deniedKey(db, id)];
    saveDenied();
  }

  function deniedReason(db, doc) {
    const d = app.denied[deniedKey(db, doc._id)];
    return d && d.rev === doc._rev ? d.reason : null;
  }

  // Discard pressed while the server was adding the title: this revision is dropped once the
  // add has finished (see discard)
  function discardPending(db, doc) {
    const d = app.denied[deniedKey(db, doc._id)];
    return Boolean(d && d.rev === doc._rev && d.afterAdd);
  }

  function markDiscardAfterAdd(db, id, rev) {
    const d = app.denied[deniedKey(db, id)];
    app.denied[deniedKey(db, id)] = {rev, reason: d && d.rev === rev ? d.reason : null, afterAdd: true};
    saveDenied();
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
      addTitle().catch((e) => showMessage('#form-message', `Could not save: ${e.message}`, 'error'));
    });
  }

  // the same rules as couch/_design/buffer/validate_doc_update.js, checked before writing so a
  // person gets the message at once instead of on replication
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
    if (title.length > 500) throw new UserError('title is longer than 500 characters');
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
    if (by) doc.requested_by = by.slice(0, 200);
    return doc;
  }

  class UserError extends Error {}

  async function addTitle() {
    let doc;
    try {
      doc = buildWish();
    } catch (e) {
      if (e instanceof UserError) return showMessage('#form-message', e.message, 'error');
      throw e;
    }
    const kind = doc.type;
    const have = app.docs[kind].collection.get(doc._id);
    if (have && have.status !== 'removed') {
      return showMessage('#form-message', `“${have.title}” is already in the collection (${have.status}).`, 'error');
    }
    if (app.docs[kind].buffer.has(doc._id)) {
      return showMessage('#form-message', `${doc._id} is already pending.`, 'error');
    }
    localStorage.setItem('mt-requested-by', doc.requested_by || '');
    try {
      await app.local[kind].buffer.put(doc);
    } catch (e) {
      if (e.status === 409) return showMessage('#form-message', `${doc._id} is already pending.`, 'error');
      throw e;
    }
    showMessage('#form-message', `Sent “${doc.title}”. It shows under Pending until the sidecar adds it.`, 'ok');
    for (const sel of ['#ext-id', '#title', '#year']) $(sel).value = '';
    $('#ext-id').focus();
  }

  async function resend(kind, id) {
    const db = app.local[kind].buffer;
    const doc = await db.get(id);
    if (doc.state !== 'failed') return;
    doc.state = 'new';  // the one change a person may make to the sidecar's fields
    await db.put(doc);
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
  // - otherwise (the server deleted the wish, or its version is on another branch) a tombstone
  //   saying `merged_into` (the server's winner): the sidecar's conflict policy reads that as "a
  //   branch merged away, ends no wish", so when replication carries it up it never withdraws
  //   the real wish. The server's own leaves then win here exactly as they do on the server.
  // Never while the server's winner says `processing`: the server refuses any revision on top
  // of a wish being added (an edit and a deletion alike), so whatever Discard wrote would stay
  // here only and, once the move's deletion arrives, win over it locally: a ghost. Then nothing
  // is written; the wish is marked "discard once the add finishes" and this runs again when the
  // next change of it arrives by sync (or the sync catches up), until the server's copy is no
  // longer processing. Never a bare delete (db.remove) of a refused revision either: that
  // tombstone would withdraw the wish on the server.
  function discard(kind, id) {
    const key = deniedKey(app.local[kind].buffer, id);
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
    if (server.length) await db.bulkDocs(server, {new_edits: false});
    for (const leaf of mine) {
      if (keep && !keep._deleted && hasAncestor(leaf, keep._rev)) {
        const {_rev, _revisions, ...serverBody} = keep;
        await db.put({...serverBody, _rev: leaf._rev});
      } else {
        await db.put({_id: id, _rev: leaf._rev, _deleted: true, merged_into: keep ? keep._rev : 'discarded'});
      }
    }
    forgetDenied(db, id);
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

  function wireSignIn() {
    const auth = credentials();
    if (auth) $('#signin-user').value = auth.username;
    $('#signin-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const username = $('#signin-user').value.trim();
      const password = $('#signin-password').value;
      try {
        const resp = await fetch(`${app.couchUrl}/_session`, {
          headers: {Authorization: 'Basic ' + btoa(unescape(encodeURIComponent(`${username}:${password}`))),
            Accept: 'application/json'},
        });
        const body = await resp.json().catch(() => ({}));
        if (!resp.ok || !body.userCtx || body.userCtx.name !== username) {
          return showMessage('#signin-message', `Not signed in: ${body.reason || `HTTP ${resp.status}`}`, 'error');
        }
        sessionStorage.setItem('mt-auth', JSON.stringify({username, password}));
        showMessage('#signin-message', `Signed in as ${username}.`, 'ok');
        $('#signin-password').value = '';
        startSync();
      } catch (e) {
        showMessage('#signin-message', `CouchDB unreachable: ${e.message}`, 'error');
      }
    });
    $('#signout').addEventListener('click', () => {
      sessionStorage.removeItem('mt-auth');
      showMessage('#signin-message', 'Signed out.', 'ok');
      startSync();
    });
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

  function titleLine(doc) {
    return el('span', {class: 'name'}, el('span', {class: 'title', text: doc.title || doc._id}),
      doc.year ? el('span', {class: 'year', text: ` (${doc.year})`}) : null);
  }

  function render() {
    if (!app.config) return;
    renderPending();
    renderCollection();
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
  // never move a revision it refused).
  function shownState(kind, doc) {
    if (discardPending(app.local[kind].buffer, doc)) return 'discard-pending';
    if (deniedReason(app.local[kind].buffer, doc)) return 'refused';
    if (movedTo(kind, doc)) return 'moved';
    return doc.state || 'new';
  }

  function pendingItem(kind, doc) {
    const state = doc.state || 'new';
    const shown = shownState(kind, doc);
    const refused = deniedReason(app.local[kind].buffer, doc);
    const moved = movedTo(kind, doc);
    const meta = el('div', {class: 'meta'},
      el('span', {class: 'kind', text: kind === 'movie' ? 'Movie' : 'Series'}),
      el('span', {text: `${doc._id} · ${doc.action === 'monitor' ? 'monitor' : 'download'}`}),
      doc.requested_by ? el('span', {text: `by ${doc.requested_by}`}) : null,
      el('span', {'data-testid': 'requested-at', 'data-at': doc.requested_at, text: when(doc.requested_at)}));
    const details = [];
    if (refused) details.push(el('p', {class: 'error', 'data-testid': 'refusal', text: `Refused by the server: ${refused}`}));
    if (moved) {
      details.push(el('p', {class: 'hint', 'data-testid': 'moved',
        text: `Already in the collection (${moved.status || 'added'}); this copy is out of date.`}));
    }
    if (shown === 'discard-pending') {
      details.push(el('p', {class: 'hint', 'data-testid': 'discard-pending',
        text: 'Being added on the server — your change will be dropped when it finishes.'}));
    } else if (shown === 'refused' || shown === 'moved') {
      details.push(el('p', {class: 'hint', text: 'Discard brings back what the server has.'}));
    } else {
      details.push(...sidecarDetails(doc, state));
    }
    const buttons = el('div', {class: 'buttons'}, ...itemButtons(kind, doc, shown));
    return el('li', {class: `item pending state-${shown}`, 'data-id': doc._id, 'data-kind': kind,
      'data-state': shown, 'data-rev': doc._rev},
    el('div', {class: 'line'}, titleLine(doc),
      el('span', {class: `badge state-${shown}`, 'data-testid': 'state', text: STATE_LABEL[shown] || shown})),
    meta, ...details, buttons.childElementCount ? buttons : null);
  }

  // the sidecar's word on a wish: Radarr's/Sonarr's last error, when it tries again
  function sidecarDetails(doc, state) {
    const out = [];
    if (doc.last_error && doc.last_error.message) {
      out.push(el('p', {class: 'error', 'data-testid': 'last-error'},
        el('strong', {text: doc.last_error.code ? `${doc.last_error.code}: ` : ''}), doc.last_error.message,
        doc.last_error.at ? el('span', {class: 'at', text: ` (${when(doc.last_error.at)})`}) : null));
    }
    if (state === 'retry' && doc.next_attempt_at) {
      out.push(el('p', {class: 'hint', text: `Attempt ${(doc.attempts || 0) + 1} at ${when(doc.next_attempt_at)}`}));
    } else if (doc.attempts) {
      out.push(el('p', {class: 'hint', text: `${doc.attempts} attempt${doc.attempts === 1 ? '' : 's'} so far`}));
    }
    return out;
  }

  // What a person may do, as the contract allows (docs/data-model.md): send a failed wish again;
  // withdraw it unless the sidecar is adding it (the server refuses that); discard a refused or
  // out-of-date local copy (nothing else: editing or withdrawing a refused revision builds on it).
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
    if (shown === 'refused' || shown === 'moved') {
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
    main().catch((e) => { console.error(e); setSync('error', 'error'); });
  });
})();
