function (newDoc, oldDoc, userCtx, secObj) {
  // The collection mirrors Radarr/Sonarr; only the sidecar (or an admin) writes it.
  // Frontends replicate it read-only.
  var roles = (userCtx && userCtx.roles) || [];
  if (roles.indexOf('_admin') === -1 && roles.indexOf(this.sidecar_role || 'sidecar') === -1) {
    throw({forbidden: 'the collection is written by the sidecar only; add titles through the buffer database'});
  }
  if (newDoc._deleted) return;
  if (newDoc.type !== 'movie' && newDoc.type !== 'series') throw({forbidden: 'type must be "movie" or "series"'});
  if (this.kind && newDoc.type !== this.kind) throw({forbidden: 'this database holds ' + this.kind + ' documents only'});
  var expected = newDoc.type === 'movie' ? 'tmdb:' + newDoc.tmdbId : 'tvdb:' + newDoc.tvdbId;
  if (newDoc._id !== expected) throw({forbidden: '_id must be "' + expected + '"'});
}
