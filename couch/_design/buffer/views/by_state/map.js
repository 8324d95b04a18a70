function (doc) {
  // Every request by [state, time]: group_level=1 counts per state; ["processing", ...] finds stale claims.
  if (doc.type !== 'movie' && doc.type !== 'series') return;
  var state = doc.state || 'new';
  var t = state === 'processing' ? doc.claimed_at
        : state === 'retry' ? doc.next_attempt_at
        : state === 'failed' ? (doc.last_error || {}).at
        : doc.requested_at;
  emit([state, t || ''], null);
}
