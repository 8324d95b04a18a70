function (doc) {
  // Requests Radarr/Sonarr refused for good (unknown id, bad profile...), newest error last.
  if (doc.state === 'failed') {
    var e = doc.last_error || {};
    emit(e.at || '', {title: doc.title, code: e.code, message: e.message, attempts: doc.attempts});
  }
}
