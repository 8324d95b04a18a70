function (newDoc, oldDoc, userCtx, secObj) {
  // The sidecar's own bookkeeping: feed checkpoints, the reconcile lock and last result, worker
  // status. Its _security makes the sidecar's role the only member; this keeps it so even if a
  // member is added by hand. (`_local` docs would skip this function, hence normal docs.)
  var roles = (userCtx && userCtx.roles) || [];
  if (roles.indexOf('_admin') === -1 && roles.indexOf(this.sidecar_role || 'sidecar') === -1) {
    throw({forbidden: 'this database is the sidecar\'s own bookkeeping; only the sidecar writes it'});
  }
  if (!newDoc._deleted && !/^(checkpoint|lock|result|worker):/.test(newDoc._id)) {
    throw({forbidden: '_id must start with checkpoint:, lock:, result: or worker:'});
  }
}
