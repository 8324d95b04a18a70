function (doc, req) {
  // The sidecar's changes feed: lookups nobody has claimed or answered yet.
  return !doc._deleted && doc.type === 'lookup' && !doc.state;
}
