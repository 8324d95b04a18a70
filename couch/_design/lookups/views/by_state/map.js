function (doc) {
  // Every lookup by [state, time]: group_level=1 counts per state; ["working", ...] finds stale
  // claims; ["answered", ...] / ["failed", ...] up to a time finds the old ones to clean up.
  if (doc.type !== 'lookup') return;
  var state = doc.state || 'new';
  var t = state === 'working' ? doc.claimed_at
        : (state === 'answered' || state === 'failed') ? doc.answered_at
        : doc.requested_at;
  emit([state, t || ''], {kind: doc.kind, term: doc.term});
}
