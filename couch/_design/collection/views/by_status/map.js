function (doc) {
  // The collection by what a frontend shows: wanted, monitored, grabbed, downloaded, removed...
  if (doc.type === 'movie' || doc.type === 'series') emit([doc.status, doc.title], {year: doc.year, hasFile: doc.hasFile});
}
