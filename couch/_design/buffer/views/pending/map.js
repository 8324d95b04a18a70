function (doc) {
  // What the sidecar still has to do: new requests by request time, retries by when they are due.
  // Key [state, time], so "retries due now" is one range query: ["retry", ""] .. ["retry", now].
  if (doc.type !== 'movie' && doc.type !== 'series') return;
  var state = doc.state || 'new';
  if (state === 'new') emit(['new', doc.requested_at || ''], {title: doc.title, action: doc.action});
  else if (state === 'retry') emit(['retry', doc.next_attempt_at || ''], {title: doc.title, action: doc.action, attempts: doc.attempts, last_error: doc.last_error});
}
