// The collection as poster tiles, with a detail view per title (web/collection.js).
//
// Reads the local PouchDBs app.js keeps in sync (window.MTApp.ready: the same objects, so the
// collection and its `poster.jpg` attachments are there offline) and writes wishes into the
// local buffer, which app.js's live sync pushes. Exposes window.MTCollection:
//   MTCollection.ready          a promise of the shared context {config, couchUrl, local, credentials()}
//   MTCollection.init(opts)     started by itself once the page has loaded (opts: {container})
//   MTCollection.addWish(kind, extId, fields)   a new wish in the buffer (used by web/search.js too)
(function () {
  'use strict';

  const KINDS = ['movie', 'series'];
  const ID_FIELD = {movie: 'tmdbId', series: 'tvdbId'};
  const PREFIX = {movie: 'tmdb:', series: 'tvdb:'};
  const ACTION_LABEL = {download: 'download', search: 'search again', unmonitor: 'stop monitoring',
    remove: 'remove', monitor: 'monitor'};

  let resolveReady;
  const ready = new Promise((r) => { resolveReady = r; });
  const st = {
    ctx: null,
    docs: {movie: new Map(), series: new Map()},
    urls: new Map(),      // `${id}@${digest}` -> object URL of the poster attachment
    open: null,           // `${kind}/${id}` shown in the detail view
    tiles: new Map(),     // id -> {rev, node}: the tiles last shown
    roles: [],
    user: null,
    rendering: false,
    queued: false,
    container: null,
  };

  const el = (tag, props, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(node.dataset, v);
      else node.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) node.append(c);
    return node;
  };

  function authHeader() {
    const a = window.MTApp.credentials();
    return a ? {Authorization: 'Basic ' + btoa(unescape(encodeURIComponent(`${a.username}:${a.password}`)))} : {};
  }

  // app.js's context: its config and its local PouchDBs (window.MTApp)
  async function openContext() {
    return {...await window.MTApp.ready, authHeader};
  }

  // ------------------------------------------------------------ wishes

  // A new wish: a put without _rev, so a finished wish's tombstone (the sidecar deletes a wish
  // once done) takes it as a new document; a wish still there is pending and is left alone.
  async function addWish(kind, extId, fields) {
    const ctx = await ready;
    const db = ctx.local[kind].buffer;
    const id = PREFIX[kind] + extId;
    try {
      const cur = await db.get(id);
      if (cur && cur.state !== 'failed') return {ok: false, message: `A wish for “${cur.title}” is pending already.`};
      // a failed wish is replaced (the frontend may edit a wish that is not processing)
      const doc = {_id: id, _rev: cur._rev, type: kind, [ID_FIELD[kind]]: extId, ...fields,
        requested_at: new Date().toISOString()};
      await db.put(doc);
      return {ok: true};
    } catch (e) {
      if (e.status !== 404) return {ok: false, message: e.message || String(e)};
    }
    const doc = {_id: id, type: kind, [ID_FIELD[kind]]: extId, ...fields, requested_at: new Date().toISOString()};
    try {
      await db.put(doc);
      return {ok: true};
    } catch (e) {
      if (e.status === 409) return {ok: false, message: `A wish for ${id} is pending already.`};
      return {ok: false, message: e.message || String(e)};
    }
  }

  // ------------------------------------------------------------ roles (remove is for collection-admin)

  let rolesAsked = 0;
  async function readRoles() {
    const ctx = await ready;
    const mine = ++rolesAsked;
    try {
      const r = await fetch(`${ctx.couchUrl}/_session`, {headers: {Accept: 'application/json', ...authHeader()}});
      const body = await r.json();
      if (mine !== rolesAsked) return;  // a later sign-in asked again: its answer counts
      const u = body.userCtx || {};
      st.user = u.name || null;
      st.roles = u.roles || [];
    } catch (e) {
      if (mine !== rolesAsked) return;
      st.user = null;
      st.roles = [];
    }
    st.container.dataset.user = st.user || '';
    st.container.dataset.roles = st.roles.join(',');
    queueRender();
  }

  // ------------------------------------------------------------ data

  async function follow(kind) {
    const db = st.ctx.local[kind].collection;
    db.changes({since: 0, live: true, include_docs: true})
      .on('change', (ch) => {
        if (ch.id.startsWith('_design/')) return;
        if (ch.deleted) st.docs[kind].delete(ch.id);
        else st.docs[kind].set(ch.id, ch.doc);
        queueRender();
      })
      .on('error', (e) => console.warn('collection changes', kind, e));
  }

  async function posterUrl(kind, doc) {
    const att = doc._attachments && doc._attachments['poster.jpg'];
    if (!att) return null;
    const key = `${doc._id}@${att.digest}`;
    if (st.urls.has(key)) return st.urls.get(key);
    try {
      const blob = await st.ctx.local[kind].collection.getAttachment(doc._id, 'poster.jpg');
      const url = URL.createObjectURL(blob);
      st.urls.set(key, url);
      return url;
    } catch (e) {
      return null;
    }
  }

  // ------------------------------------------------------------ rendering

  function queueRender() {
    if (st.queued) return;
    st.queued = true;
    setTimeout(() => { st.queued = false; render(); }, 30);
  }

  function percent(p) { return `${Math.round((p || 0) * 100)} %`; }

  function eta(iso) {
    if (!iso) return '';
    const ms = Date.parse(iso) - Date.now();
    if (!(ms > 0)) return 'any moment';
    const min = Math.round(ms / 60000);
    if (min < 60) return `${min} min left`;
    const h = Math.floor(min / 60);
    return h < 48 ? `${h} h ${min % 60} min left` : `${Math.round(h / 24)} days left`;
  }

  function progressBar(d) {
    const pct = Math.max(0, Math.min(100, Math.round((d.progress || 0) * 100)));
    return el('div', {class: 'mt-progress', dataset: {state: d.state || ''}},
      el('div', {class: 'mt-bar', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100',
        'aria-valuenow': String(pct)}, el('span', {class: 'mt-fill', style: null, dataset: {pct: String(pct)}})),
      el('span', {class: 'mt-progress-text', text: `${percent(d.progress)}${d.eta ? ' · ' + eta(d.eta) : ''}`}),
      d.attention ? el('p', {class: 'mt-attention', role: 'alert', text: d.message || 'needs attention'}) : null);
  }

  // CSP: no inline styles; the fill's width is set through the CSSOM (allowed)
  function sizeBars(root) {
    for (const f of root.querySelectorAll('.mt-fill')) f.style.width = `${f.dataset.pct}%`;
  }

  function sortedDocs() {
    const all = [];
    for (const kind of KINDS) for (const doc of st.docs[kind].values()) {
      if (doc.status === 'removed') continue;
      all.push({kind, doc});
    }
    return all.sort((a, b) => (a.doc.title || '').localeCompare(b.doc.title || ''));
  }

  async function tile(kind, doc) {
    const url = await posterUrl(kind, doc);
    const d = doc.download;
    return el('li', {class: 'mt-tile', dataset: {id: doc._id, kind, status: doc.status || ''}},
      el('button', {type: 'button', class: 'mt-tile-button', 'aria-label': `${doc.title} details`,
        onclick: () => { st.open = `${kind}/${doc._id}`; render(); }},
      url ? el('img', {class: 'mt-poster', src: url, alt: doc.title})
        : el('div', {class: 'mt-poster mt-noposter', text: doc.title}),
      el('span', {class: 'mt-tile-title', text: doc.title}),
      el('span', {class: 'mt-tile-meta', text: [doc.year, doc.status].filter(Boolean).join(' · ')})),
      d ? progressBar(d) : null);
  }

  function fmtSize(b) {
    if (!b) return '';
    const gb = b / 1e9;
    return gb >= 1 ? `${gb.toFixed(1)} GB` : `${Math.round(b / 1e6)} MB`;
  }

  function ratingsText(r) {
    if (!r) return '';
    if (typeof r.value === 'number') return `${r.value}/10 (TVDB)`;
    return Object.entries(r).map(([k, v]) => `${k} ${v.value}`).join(' · ');
  }

  async function detail(kind, doc) {
    const url = await posterUrl(kind, doc);
    const facts = [
      ['Year', doc.year], ['Status', doc.status], ['Runtime', doc.runtime ? `${doc.runtime} min` : ''],
      ['Genres', (doc.genres || []).join(', ')], ['Ratings', ratingsText(doc.ratings)],
      ['Certification', doc.certification], ['Network', doc.network], ['Studio', doc.studio],
    ];
    if (kind === 'movie' && doc.file) {
      const f = doc.file;
      facts.push(['File', [f.quality, f.resolution, f.videoCodec, fmtSize(f.size), (f.audioLanguages || []).join('/')]
        .filter(Boolean).join(' · ')]);
    }
    const seasons = kind === 'series' ? (doc.seasons || []) : [];
    const msg = el('p', {class: 'mt-action-message', role: 'status', 'aria-live': 'polite'});
    const checks = seasons.map((s) => el('label', {class: 'mt-season'},
      el('input', {type: 'checkbox', value: String(s.seasonNumber), checked: false}),
      ` ${s.seasonNumber === 0 ? 'Specials' : 'Season ' + s.seasonNumber}: ` +
      `${s.episodeFileCount || 0}/${s.episodeCount || 0} episodes${s.monitored ? '' : ' (not monitored)'}`));
    const extId = doc[ID_FIELD[kind]];
    const act = async (action, extra) => {
      const res = await addWish(kind, extId, {title: doc.title, ...(doc.year ? {year: doc.year} : {}),
        action, ...(st.user ? {requested_by: st.user} : {}), ...(extra || {})});
      msg.textContent = res.ok ? `Asked: ${ACTION_LABEL[action]} “${doc.title}”.` : res.message;
      msg.dataset.kind = res.ok ? 'ok' : 'error';
    };
    const actions = el('div', {class: 'mt-actions'},
      kind === 'series' ? el('button', {type: 'button', class: 'mt-more-seasons', onclick: () => {
        const seasonsAsked = checks.map((c) => c.querySelector('input')).filter((i) => i.checked).map((i) => Number(i.value));
        if (!seasonsAsked.length) { msg.textContent = 'Tick the seasons you want first.'; msg.dataset.kind = 'error'; return; }
        act('download', {options: {seasons: seasonsAsked}});
      }}, 'Get the ticked seasons') : null,
      el('button', {type: 'button', class: 'mt-search-again', onclick: () => act('search')}, 'Search again'),
      el('button', {type: 'button', class: 'mt-unmonitor secondary', onclick: () => act('unmonitor')}, 'Stop monitoring'),
      st.roles.includes('collection-admin') || st.roles.includes('_admin')
        ? el('button', {type: 'button', class: 'mt-remove danger', onclick: () => {
          if (confirm(`Remove “${doc.title}” from Radarr/Sonarr?`)) act('remove');
        }}, 'Remove') : null);
    return el('div', {class: 'mt-detail', role: 'dialog', 'aria-label': doc.title, dataset: {id: doc._id}},
      el('div', {class: 'mt-detail-head'},
        url ? el('img', {class: 'mt-detail-poster', src: url, alt: ''}) : null,
        el('div', {class: 'mt-detail-main'},
          el('h3', {text: `${doc.title}${doc.year ? ' (' + doc.year + ')' : ''}`}),
          doc.overview ? el('p', {class: 'mt-overview', text: doc.overview}) : null,
          el('dl', {class: 'mt-facts'}, facts.filter(([, v]) => v).map(([k, v]) => [el('dt', {text: k}), el('dd', {text: String(v)})])),
          doc.download ? progressBar(doc.download) : null)),
      checks.length ? el('fieldset', {class: 'mt-seasons'}, el('legend', {text: 'Seasons'}), checks) : null,
      actions, msg,
      el('button', {type: 'button', class: 'mt-close secondary', onclick: () => { st.open = null; render(); }}, 'Close'));
  }

  async function render() {
    if (!st.container || st.rendering) { if (st.rendering) queueRender(); return; }
    st.rendering = true;
    try {
      const items = sortedDocs();
      const grid = el('ul', {class: 'mt-tiles'});
      // a tile is built again only when its doc changed (no flicker, an <img> stays loaded)
      const kept = new Map();
      for (const {kind, doc} of items) {
        const was = st.tiles.get(doc._id);
        const node = was && was.rev === doc._rev ? was.node : await tile(kind, doc);
        kept.set(doc._id, {rev: doc._rev, node});
        grid.append(node);
      }
      st.tiles = kept;
      const body = st.container.querySelector('.mt-body');
      const parts = [grid];
      if (!items.length) parts.push(el('p', {class: 'empty', text: 'No titles yet.'}));
      if (st.open) {
        const [kind, id] = [st.open.split('/')[0], st.open.slice(st.open.indexOf('/') + 1)];
        const doc = st.docs[kind] && st.docs[kind].get(id);
        const old = st.container.querySelector('.mt-detail');
        // keep an open detail view as it is (ticked seasons, messages) while its doc is the same
        const sig = `${doc && doc._rev}|${st.roles.join(',')}`;
        if (doc && old && old.dataset.id === id && old.dataset.sig === sig) parts.unshift(old);
        else if (doc) { const dv = await detail(kind, doc); dv.dataset.sig = sig; parts.unshift(dv); }
      }
      body.replaceChildren(...parts);
      sizeBars(body);
      st.container.querySelector('.mt-count').textContent = String(items.length);
    } finally {
      st.rendering = false;
    }
  }

  async function init(opts) {
    st.container = (opts && opts.container) || document.querySelector('#mt-collection');
    if (!st.container || !window.PouchDB || !window.MTApp) return;
    st.container.append(
      el('h2', {}, 'Posters ', el('span', {class: 'count mt-count', text: '0'})),
      el('div', {class: 'mt-body'}));
    try {
      st.ctx = await openContext();
    } catch (e) {
      st.container.querySelector('.mt-body').textContent = `Cannot start: ${e.message}`;
      return;
    }
    resolveReady(st.ctx);
    for (const kind of KINDS) follow(kind);
    readRoles();
    // app.js keeps the sign-in in sessionStorage: follow it for the roles
    let seen = sessionStorage.getItem('mt-auth');
    setInterval(() => {
      const now = sessionStorage.getItem('mt-auth');
      if (now !== seen) { seen = now; readRoles(); }
    }, 500);
  }

  window.MTCollection = {ready, init, addWish, el, get user() { return st.user; }};
  document.addEventListener('DOMContentLoaded', () => init());
})();
