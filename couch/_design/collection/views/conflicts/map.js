function (doc) {
  // Documents with replication conflicts (live leaves beside the winner), keyed by how many.
  // The sidecar settles them within a second: a row that stays means no worker is running.
  if (doc._conflicts) emit(doc._conflicts.length, doc._conflicts);
}
