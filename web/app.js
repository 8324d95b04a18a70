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
  const STATE_LABEL = {new: 'waiting', processing: 'adding…', retry: 'will retry', failed: 'failed'};

  const app = {
    config: null,
    couchUrl: null,
    local: {},          // kind -> {buffer: PouchDB, collection: PouchDB}
    docs: {},           // kind -> {buffer: Map, collection: Map}
    syncs: [],          // running replications (cancel on sign-in / sign-out)
    repState: {},       // replication name -> 'active' | 'live' | 'offline' | 'error'
    lastSyncError: null,
    denied: loadDenied(),
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
        if (ch.deleted) map.delete(ch.id);
        else map.set(ch.id, ch.doc);
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
      watch(`${kind}-buffer`, local.buffer.sync(remote(names.buffer), opts), names.buffer);
      watch(`${kind}-collection`, local.collection.replicate.from(remote(names.collection), opts), names.collection);
    }
  }

  function watch(name, rep, dbName) {
    app.syncs.push(rep);
    app.repState[name] = 'active';
    rep.on('active', () => { app.repState[name] = 'active'; updateSync(); })
      .on('paused', (err) => {
        app.repState[name] = err ? 'offline' : 'live';
        if (err) app.lastSyncError = err;
        updateSync();
      })
      .on('change', () => { if (app.repState[name] !== 'active') { app.repState[name] = 'live'; updateSync(); } })
      .on('denied', (ev) => {
        // CouchDB's validate_doc_update refused a document: keep its reason next to the wish
        const e = ev && ev.direction && ev.doc ? ev.doc : ev;
        if (e && e.id) {
          rememberDenied(dbName, e.id, e.reason || e.message || 'refused by CouchDB');
          queueRender();
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

  function loadDenied() {
    try { return JSON.parse(localStorage.getItem('mt-denied') || '{}'); } catch (e) { return {}; }
  }

  function rememberDenied(dbName, id, reason) {
    for (const kind of KINDS) {
      if (dbNames(kind).buffer !== dbName && dbNames(kind).collection !== dbName) continue;
      const part = dbNames(kind).buffer === dbName ? 'buffer' : 'collection';
      const doc = app.docs[kind][part].get(id);
      app.denied[`${dbName}/${id}`] = {reason, rev: doc ? doc._rev : null};
    }
    localStorage.setItem('mt-denied', JSON.stringify(app.denied));
  }

  function deniedReason(dbName, doc) {
    const d = app.denied[`${dbName}/${doc._id}`];
    return d && (d.rev === null || d.rev === doc._rev) ? d.reason : null;
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

  async function withdraw(kind, id) {
    const db = app.local[kind].buffer;
    const doc = await db.get(id);
    await db.remove(doc);
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
    const list = $('#pending');
    const frag = document.createDocumentFragment();
    for (const {kind, doc} of items) {
      const state = doc.state || 'new';
      const refused = deniedReason(dbNames(kind).buffer, doc);
      const shown = refused ? 'refused' : state;
      const meta = el('div', {class: 'meta'},
        el('span', {class: 'kind', text: kind === 'movie' ? 'Movie' : 'Series'}),
        el('span', {text: `${doc._id} · ${doc.action === 'monitor' ? 'monitor' : 'download'}`}),
        doc.requested_by ? el('span', {text: `by ${doc.requested_by}`}) : null,
        el('span', {text: when(doc.requested_at)}));
      const details = [];
      if (refused) details.push(el('p', {class: 'error', 'data-testid': 'refusal', text: `Refused by CouchDB: ${refused}`}));
      if (doc.last_error && doc.last_error.message) {
        details.push(el('p', {class: 'error', 'data-testid': 'last-error'},
          el('strong', {text: doc.last_error.code ? `${doc.last_error.code}: ` : ''}), doc.last_error.message,
          doc.last_error.at ? el('span', {class: 'at', text: ` (${when(doc.last_error.at)})`}) : null));
      }
      if (state === 'retry' && doc.next_attempt_at) {
        details.push(el('p', {class: 'hint', text: `Attempt ${(doc.attempts || 0) + 1} at ${when(doc.next_attempt_at)}`}));
      } else if (doc.attempts) {
        details.push(el('p', {class: 'hint', text: `${doc.attempts} attempt${doc.attempts === 1 ? '' : 's'} so far`}));
      }
      const buttons = el('div', {class: 'buttons'});
      if (state === 'failed' && !refused) {
        const b = el('button', {type: 'button', class: 'resend', 'data-action': 'resend', text: 'Send again'});
        b.addEventListener('click', () => resend(kind, doc._id).catch((e) => alert(`Could not send again: ${e.message}`)));
        buttons.append(b);
      }
      if (state !== 'processing') {
        const b = el('button', {type: 'button', class: 'secondary', 'data-action': 'withdraw', text: 'Withdraw'});
        b.addEventListener('click', () => withdraw(kind, doc._id).catch((e) => alert(`Could not withdraw: ${e.message}`)));
        buttons.append(b);
      }
      frag.append(el('li', {class: `item pending state-${shown}`, 'data-id': doc._id, 'data-kind': kind,
        'data-state': shown},
      el('div', {class: 'line'}, titleLine(doc),
        el('span', {class: `badge state-${shown}`, 'data-testid': 'state',
          text: refused ? 'refused' : STATE_LABEL[state] || state})),
      meta, ...details, buttons.childElementCount ? buttons : null));
    }
    list.replaceChildren(frag);
    $('#pending-count').textContent = String(items.length);
    $('#pending-empty').hidden = items.length > 0;
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
