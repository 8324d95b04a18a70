function (doc, req) {
  // The sidecar's changes feed: requests waiting for it (new, or waiting to retry).
  if (doc._deleted || (doc.type !== 'movie' && doc.type !== 'series')) return false;
  return !doc.state || doc.state === 'new' || doc.state === 'retry';
}
