function (newDoc, oldDoc, userCtx, secObj) {
  // Title searches (lookups): a frontend writes {type: "lookup", kind, term, requested_at}, the
  // sidecar answers on the same document (state, results, answered_at or error).
  // `this` is the design doc: push_design.py sets `sidecar_role`, the CouchDB role of the sidecar's
  // own user.
  var FRONTEND_FIELDS = ['type', 'kind', 'term', 'requested_at', 'requested_by'];
  var SIDECAR_FIELDS = ['state', 'results', 'answered_at', 'error', 'claimed_by', 'claimed_at'];
  var STATES = ['working', 'answered', 'failed'];
  var roles = (userCtx && userCtx.roles) || [];
  var isSidecar = roles.indexOf('_admin') !== -1 || roles.indexOf(this.sidecar_role || 'sidecar') !== -1;
  var me = userCtx && userCtx.name;

  function forbid(msg) { throw({forbidden: msg}); }
  function isTime(v) {
    // ISO 8601 with a real date and time (no month 13, no Feb 30, no 24:00)
    var m = typeof v === 'string' && /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))$/.exec(v);
    if (!m) return false;
    var y = +m[1], mo = +m[2], d = +m[3];
    var leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    var days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
    return y >= 1 && mo >= 1 && mo <= 12 && d >= 1 && d <= days && +m[4] <= 23 && +m[5] <= 59 && +m[6] <= 59 &&
      (m[8] === 'Z' || (+m[9] <= 23 && +m[10] <= 59));
  }
  // length in characters, not UTF-16 units (an emoji is one character)
  function len(s) { return s.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, '_').length; }
  function isObject(v) { return v !== null && typeof v === 'object' && !Array.isArray(v); }
  function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

  if (newDoc._deleted) {
    // the sidecar cleans up old lookups; a person deletes their own (or one that names nobody)
    if (isSidecar || !oldDoc || oldDoc._deleted) return;
    if (oldDoc.requested_by !== undefined && oldDoc.requested_by !== me) {
      forbid('this lookup was made by ' + oldDoc.requested_by + '; only they (or the sidecar) may delete it');
    }
    return;
  }

  // --- what a lookup may carry at all
  var KNOWN = ['_id', '_rev', '_revisions'].concat(FRONTEND_FIELDS, SIDECAR_FIELDS);
  for (var key in newDoc) {
    if (KNOWN.indexOf(key) === -1) forbid(key + ' is not a field of a lookup (known: ' + KNOWN.slice(3).join(', ') + ')');
  }
  var size = JSON.stringify(newDoc).length;
  if (size > 65536) forbid('a lookup is at most 64 KB of JSON; this one is ' + size + ' characters');

  // --- what the frontend writes
  if (newDoc.type !== 'lookup') forbid('type must be "lookup"');
  if (newDoc.kind !== 'movie' && newDoc.kind !== 'series') forbid('kind must be "movie" (asks Radarr) or "series" (asks Sonarr)');
  if (typeof newDoc.term !== 'string' || !newDoc.term.trim()) forbid('term must be a non-empty string: a title, or tmdb:<id> / imdb:<tt id> (movies), tvdb:<id> (series)');
  if (len(newDoc.term) > 200) forbid('term is longer than 200 characters');
  if (!isTime(newDoc.requested_at)) forbid('requested_at must be an ISO 8601 time such as 2026-01-31T20:15:00Z');
  if (newDoc.requested_by !== undefined && (typeof newDoc.requested_by !== 'string' || len(newDoc.requested_by) > 200)) forbid('requested_by must be a string of at most 200 characters');

  // --- what the sidecar writes
  if (newDoc.state !== undefined && STATES.indexOf(newDoc.state) === -1) forbid('state must be one of ' + STATES.join(', '));
  if (newDoc.results !== undefined) {
    if (!Array.isArray(newDoc.results) || newDoc.results.length > 50) forbid('results must be a list of at most 50 titles');
    for (var r = 0; r < newDoc.results.length; r++) {
      var res = newDoc.results[r];
      if (!isObject(res) || typeof res.title !== 'string' || typeof res.inLibrary !== 'boolean' || typeof res.inCollection !== 'boolean') {
        forbid('results[' + r + '] must be {tmdbId|tvdbId, title, year, overview, poster, inLibrary, inCollection, status?}');
      }
    }
  }
  if (newDoc.answered_at !== undefined && !isTime(newDoc.answered_at)) forbid('answered_at must be an ISO 8601 time');
  if (newDoc.claimed_at !== undefined && !isTime(newDoc.claimed_at)) forbid('claimed_at must be an ISO 8601 time');
  if (newDoc.claimed_by !== undefined && typeof newDoc.claimed_by !== 'string') forbid('claimed_by must be a worker id');
  if (newDoc.error !== undefined && !(isObject(newDoc.error) && typeof newDoc.error.code === 'string' && typeof newDoc.error.message === 'string')) forbid('error must be {code, message}');
  if (newDoc.state === 'working' && !(newDoc.claimed_by && newDoc.claimed_at)) forbid('a working lookup names its claimed_by and claimed_at');
  if (newDoc.state === 'answered' && !(Array.isArray(newDoc.results) && newDoc.answered_at)) forbid('an answered lookup has results and answered_at');
  if (newDoc.state === 'failed' && !(newDoc.error && newDoc.answered_at)) forbid('a failed lookup has error and answered_at');

  // what was asked stays as it was asked, whoever writes
  if (oldDoc && !oldDoc._deleted) {
    for (var f = 0; f < FRONTEND_FIELDS.length; f++) {
      if (!same(newDoc[FRONTEND_FIELDS[f]], oldDoc[FRONTEND_FIELDS[f]])) {
        forbid(FRONTEND_FIELDS[f] + ' stays as it was when the lookup was made; to search again, write a new lookup');
      }
    }
  }
  if (isSidecar) return;

  // --- a person: may create a lookup (no sidecar fields), never change one
  if (oldDoc && !oldDoc._deleted) forbid('a lookup cannot be changed once made; delete it and write a new one');
  for (var i = 0; i < SIDECAR_FIELDS.length; i++) {
    if (newDoc[SIDECAR_FIELDS[i]] !== undefined) forbid(SIDECAR_FIELDS[i] + ' is set by the sidecar only; leave it out of a new lookup');
  }
  if (newDoc.requested_by !== undefined && me && newDoc.requested_by !== me) {
    forbid('requested_by must be your user name ("' + me + '") or left out');
  }
}
