// Title search (web/search.js): a lookup doc written into a local PouchDB of the lookups database,
// synced live with CouchDB; the sidecar answers on the same doc and the answer replicates back
// (docs/data-model.md, Lookups). One tap on a result adds it as a wish (download) into the buffer,
// through MTCollection.addWish (web/collection.js).
(function () {
  'use strict';

  const ID_FIELD = {movie: 'tmdbId', series: 'tvdbId'};
  const st = {db: null, sync: null, current: null, container: null, ctx: null, authSeen: null};

  function el(...args) { return window.MTCollection.el(...args); }

  function remote(ctx, name) {
    const opts = {skip_setup: true};
    const auth = ctx.credentials();
    if (auth) opts.auth = auth;
    return new PouchDB(`${ctx.couchUrl}/${encodeURIComponent(name)}`, opts);
  }

  function startSync(name) {
    if (st.sync) st.sync.cancel();
    st.authSeen = sessionStorage.getItem('mt-auth');
    st.sync = st.db.sync(remote(st.ctx, name), {live: true, retry: true,
      back_off_function: (d) => (d ? Math.min(d * 2, 3000) : 250)});
    st.sync.on('error', () => {});
  }

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
  }

  async function ask(kind, term) {
    const doc = {_id: `lookup:${uuid()}`, type: 'lookup', kind, term, requested_at: new Date().toISOString()};
    const user = window.MTCollection.user;
    if (user) doc.requested_by = user;
    st.current = doc._id;
    await st.db.put(doc);
    show(doc);
  }

  function show(doc) {
    const out = st.container.querySelector('.mt-results');
    const status = st.container.querySelector('.mt-search-status');
    status.dataset.state = doc.state || 'waiting';
    if (!doc.state || doc.state === 'working') {
      status.textContent = `Searching for “${doc.term}”…`;
      out.replaceChildren();
      return;
    }
    if (doc.state === 'failed') {
      status.textContent = `Search failed: ${(doc.error && doc.error.message) || 'unknown reason'}`;
      out.replaceChildren();
      return;
    }
    const results = doc.results || [];
    status.textContent = results.length ? `${results.length} found for “${doc.term}”.` : `Nothing found for “${doc.term}”.`;
    out.replaceChildren(...results.map((r) => result(doc.kind, r)));
  }

  function result(kind, r) {
    const extId = r[ID_FIELD[kind]];
    const msg = el('span', {class: 'mt-result-message', role: 'status'});
    const have = r.inCollection && r.status !== 'removed';
    const add = el('button', {type: 'button', class: 'mt-add', disabled: have ? true : null, onclick: async () => {
      add.disabled = true;
      const fields = {title: r.title, action: 'download'};
      if (r.year) fields.year = r.year;
      if (window.MTCollection.user) fields.requested_by = window.MTCollection.user;
      const res = await window.MTCollection.addWish(kind, extId, fields);
      msg.textContent = res.ok ? 'Added: it shows under Pending until the sidecar has it.' : res.message;
      msg.dataset.kind = res.ok ? 'ok' : 'error';
      if (!res.ok) add.disabled = false;
    }}, have ? 'In your collection' : 'Add');
    return el('li', {class: 'mt-result', dataset: {id: `${kind === 'movie' ? 'tmdb' : 'tvdb'}:${extId}`}},
      r.poster ? el('img', {class: 'mt-result-poster', src: r.poster, alt: '', referrerpolicy: 'no-referrer',
          onerror: (ev) => ev.target.replaceWith(el('div', {class: 'mt-result-poster mt-noposter'}))})
        : el('div', {class: 'mt-result-poster mt-noposter'}),
      el('div', {class: 'mt-result-main'},
        el('strong', {class: 'mt-result-title', text: r.title}),
        el('span', {class: 'mt-result-year', text: r.year ? ` (${r.year})` : ''}),
        have ? el('span', {class: 'mt-in-collection', text: ` · in your collection (${r.status})`}) : null,
        r.overview ? el('p', {class: 'mt-result-overview', text: r.overview}) : null,
        el('div', {}, add, msg)));
  }

  async function init(opts) {
    st.container = (opts && opts.container) || document.querySelector('#mt-search');
    if (!st.container || !window.PouchDB || !window.MTCollection) return;
    const kindSel = el('select', {class: 'mt-search-kind', 'aria-label': 'Movies or series'},
      el('option', {value: 'movie'}, 'Movies'), el('option', {value: 'series'}, 'Series'));
    const input = el('input', {class: 'mt-search-term', type: 'search', placeholder: 'Search a title to add',
      'aria-label': 'Search a title', maxlength: '200'});
    const form = el('form', {class: 'mt-search-form', autocomplete: 'off', onsubmit: (ev) => {
      ev.preventDefault();
      const term = input.value.trim();
      if (term) ask(kindSel.value, term).catch((e) => {
        st.container.querySelector('.mt-search-status').textContent = `Cannot search: ${e.message}`;
      });
    }}, kindSel, input, el('button', {type: 'submit', class: 'mt-search-button'}, 'Search'));
    st.container.append(el('h2', {text: 'Find a title'}), form,
      el('p', {class: 'mt-search-status message', role: 'status', 'aria-live': 'polite'}),
      el('ul', {class: 'mt-results'}));

    st.ctx = await window.MTCollection.ready;
    let name = 'lookups';
    try {
      const r = await fetch('lookups.json', {cache: 'no-store'});
      if (r.ok) name = (await r.json()).lookups || name;
    } catch (e) { /* the default name */ }
    st.db = new PouchDB(`mt-${st.ctx.tag}-${name}`);
    st.db.changes({since: 'now', live: true, include_docs: true}).on('change', (ch) => {
      if (ch.id === st.current && !ch.deleted) show(ch.doc);
    });
    startSync(name);
    // a sign-in (app.js keeps it in sessionStorage) restarts the sync with the user
    setInterval(() => {
      if (sessionStorage.getItem('mt-auth') !== st.authSeen) startSync(name);
    }, 1000);
  }

  window.MTSearch = {init};
  document.addEventListener('DOMContentLoaded', () => init());
})();
