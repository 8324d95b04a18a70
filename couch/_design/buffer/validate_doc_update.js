function (newDoc, oldDoc, userCtx, secObj) {
  // Wish-list (buffer) documents: written by the frontend, worked off by the sidecar.
  // `this` is the design doc: push_design.py sets `kind` (movie|series) per database and
  // `sidecar_role`, the CouchDB role of the sidecar's own user.
  var SIDECAR_FIELDS = ['state', 'attempts', 'last_error', 'next_attempt_at', 'claimed_by', 'claimed_at'];
  var STATES = ['new', 'processing', 'retry', 'failed'];
  var roles = (userCtx && userCtx.roles) || [];
  var isSidecar = roles.indexOf('_admin') !== -1 || roles.indexOf(this.sidecar_role || 'sidecar') !== -1;

  function forbid(msg) { throw({forbidden: msg}); }
  function isPosInt(v) { return typeof v === 'number' && v % 1 === 0 && v > 0 && v < 2147483648; }
  function isNonNegInt(v) { return typeof v === 'number' && v % 1 === 0 && v >= 0 && v < 2147483648; }
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
    // withdrawing a wish is fine, except while the sidecar is adding it
    if (!isSidecar && oldDoc && oldDoc.state === 'processing') {
      forbid('this title is being added right now and cannot be withdrawn until that finishes');
    }
    return;
  }

  // --- what a wish may carry at all: a wish CouchDB would take but nobody reads must not sit in
  // a device's outbox either (a document CouchDB refuses whole blocks every later push)
  var KNOWN = ['_id', '_rev', '_revisions', 'type', 'tmdbId', 'tvdbId', 'title', 'year', 'action', 'requested_at',
               'requested_by', 'instance', 'options'].concat(SIDECAR_FIELDS);
  for (var key in newDoc) {
    if (KNOWN.indexOf(key) === -1) forbid(key + ' is not a field of a wish (known: ' + KNOWN.slice(3).join(', ') + ')');
  }
  if (JSON.stringify(newDoc).length > 16384) forbid('a wish is at most 16 KB of JSON; this one is ' + JSON.stringify(newDoc).length + ' characters');

  // --- what the frontend writes
  if (newDoc.type !== 'movie' && newDoc.type !== 'series') forbid('type must be "movie" or "series"');
  if (this.kind && newDoc.type !== this.kind) forbid('this database takes ' + this.kind + ' requests only, not ' + newDoc.type);
  var idField = newDoc.type === 'movie' ? 'tmdbId' : 'tvdbId';
  var prefix = newDoc.type === 'movie' ? 'tmdb:' : 'tvdb:';
  if (!isPosInt(newDoc[idField])) forbid(idField + ' must be a positive whole number');
  if (newDoc._id !== prefix + newDoc[idField]) forbid('_id must be "' + prefix + newDoc[idField] + '" (' + prefix + '<' + idField + '>)');
  if (typeof newDoc.title !== 'string' || !newDoc.title.trim()) forbid('title must be a non-empty string');
  if (len(newDoc.title) > 500) forbid('title is longer than 500 characters');
  if (newDoc.year !== undefined && newDoc.year !== null && !(isPosInt(newDoc.year) && newDoc.year >= 1870 && newDoc.year <= 2200)) forbid('year must be a whole number between 1870 and 2200');
  var ACTIONS = ['download', 'monitor', 'search', 'unmonitor', 'remove'];
  if (ACTIONS.indexOf(newDoc.action) === -1) forbid('action must be "download" (add and search now), "monitor" (add monitored, no search), "search" (search again), "unmonitor" or "remove"');
  if (newDoc.action === 'remove' && !isSidecar && roles.indexOf(this.remove_role || 'collection-admin') === -1) {
    forbid('removing a title from Radarr/Sonarr needs the role "' + (this.remove_role || 'collection-admin') + '"; ask the household\'s admin');
  }
  if (!isTime(newDoc.requested_at)) forbid('requested_at must be an ISO 8601 time such as 2026-01-31T20:15:00Z');
  if (newDoc.requested_by !== undefined && (typeof newDoc.requested_by !== 'string' || len(newDoc.requested_by) > 200)) forbid('requested_by must be a string of at most 200 characters');
  if (newDoc.instance !== undefined && !(typeof newDoc.instance === 'string' && /^[A-Za-z0-9_-]{1,50}$/.test(newDoc.instance))) forbid('instance must be an instance name such as "default" or "4k"');

  if (newDoc.options !== undefined) {
    var o = newDoc.options;
    if (!isObject(o)) forbid('options must be an object');
    var allowed = newDoc.type === 'movie'
      ? ['qualityProfileId', 'rootFolderPath', 'minimumAvailability', 'tags', 'deleteFiles', 'addImportExclusion']
      : ['qualityProfileId', 'rootFolderPath', 'seasons', 'monitor', 'seriesType', 'tags', 'deleteFiles', 'addImportExclusion'];
    for (var k in o) {
      if (allowed.indexOf(k) === -1) forbid('options.' + k + ' is not a known option for a ' + newDoc.type + ' (known: ' + allowed.join(', ') + ')');
    }
    if (o.qualityProfileId !== undefined && !isPosInt(o.qualityProfileId)) forbid('options.qualityProfileId must be a positive whole number');
    if (o.rootFolderPath !== undefined && !(typeof o.rootFolderPath === 'string' && o.rootFolderPath.length > 0 && len(o.rootFolderPath) <= 1000)) forbid('options.rootFolderPath must be a non-empty path');
    if (o.minimumAvailability !== undefined && ['announced', 'inCinemas', 'released'].indexOf(o.minimumAvailability) === -1) forbid('options.minimumAvailability must be "announced", "inCinemas" or "released"');
    if (o.tags !== undefined && !(Array.isArray(o.tags) && o.tags.every(isPosInt))) forbid('options.tags must be a list of tag ids');
    if (o.seasons !== undefined && !(Array.isArray(o.seasons) && o.seasons.every(isNonNegInt))) forbid('options.seasons must be a list of season numbers such as [1, 2]');
    if (o.monitor !== undefined && ['all', 'future', 'missing', 'existing', 'firstSeason', 'lastSeason', 'pilot', 'recent', 'none'].indexOf(o.monitor) === -1) forbid('options.monitor must be one of all, future, missing, existing, firstSeason, lastSeason, pilot, recent, none');
    if (o.seriesType !== undefined && ['standard', 'daily', 'anime'].indexOf(o.seriesType) === -1) forbid('options.seriesType must be "standard", "daily" or "anime"');
    var removal = ['deleteFiles', 'addImportExclusion'];
    for (var r = 0; r < removal.length; r++) {
      if (o[removal[r]] === undefined) continue;
      if (newDoc.action !== 'remove') forbid('options.' + removal[r] + ' goes with action "remove" only');
      if (typeof o[removal[r]] !== 'boolean') forbid('options.' + removal[r] + ' must be true or false');
    }
  }

  // --- what the sidecar owns
  if (newDoc.state !== undefined && STATES.indexOf(newDoc.state) === -1) forbid('state must be one of ' + STATES.join(', '));
  if (newDoc.attempts !== undefined && !isNonNegInt(newDoc.attempts)) forbid('attempts must be a whole number');
  if (newDoc.last_error !== undefined && newDoc.last_error !== null && !(isObject(newDoc.last_error) && typeof newDoc.last_error.message === 'string')) forbid('last_error must be {code, message, at}');

  if (isSidecar) return;
  if (!oldDoc && newDoc._revisions && newDoc._revisions.start > 1) {
    // A replicated edit whose parent revision the server no longer keeps (CouchDB 3 validates
    // against the parent, and compaction drops the bodies of older revisions): its sidecar
    // fields cannot be checked, so it is refused rather than trusted.
    for (var h = 0; h < SIDECAR_FIELDS.length; h++) {
      if (newDoc[SIDECAR_FIELDS[h]] !== undefined && !(SIDECAR_FIELDS[h] === 'state' && newDoc.state === 'new')) {
        forbid('this edit was made on a version of the wish the server no longer keeps; sync, then edit it again');
      }
    }
    return;
  }
  if (!oldDoc || oldDoc._deleted) {
    for (var i = 0; i < SIDECAR_FIELDS.length; i++) {
      var f = SIDECAR_FIELDS[i];
      if (newDoc[f] !== undefined && !(f === 'state' && newDoc.state === 'new')) forbid(f + ' is set by the sidecar only; leave it out of a new request');
    }
    return;
  }
  if (oldDoc.state === 'processing') forbid('this title is being added right now; change it once that finishes');
  // requested_at names the wish (the sidecar's conflict policy tells wishes apart by it)
  if (newDoc.requested_at !== oldDoc.requested_at) forbid('requested_at stays as it was when the wish was made; to ask anew, withdraw this wish and make a new one');
  for (var j = 0; j < SIDECAR_FIELDS.length; j++) {
    var g = SIDECAR_FIELDS[j];
    if (same(newDoc[g], oldDoc[g])) continue;
    // the one change a person may make: send a failed request again
    if (g === 'state' && oldDoc.state === 'failed' && newDoc.state === 'new') continue;
    forbid(g + ' is set by the sidecar only');
  }
}
