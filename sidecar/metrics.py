"""Prometheus metrics shared by the web and worker processes.

Each process keeps its own counters (the worker serves them on WORKER_METRICS_PORT, the web
app on /metrics); gauges read from CouchDB views (pending/retry/failed) are computed on scrape.
"""
from prometheus_client import Counter, Gauge, Histogram

ARR_ADDS = Counter("sidecar_arr_adds_total", "Titles sent to Radarr/Sonarr, by outcome", ["arr", "outcome"])
ARR_ADD_SECONDS = Histogram("sidecar_arr_add_seconds", "Time of one add to Radarr/Sonarr", ["arr"])
ITEMS_MOVED = Counter("sidecar_items_moved_total", "Buffer items moved into the collection", ["kind"])
ITEMS_FAILED = Counter("sidecar_items_failed_total", "Buffer items set to retry or failed", ["kind", "state"])
FEED_RECONNECTS = Counter("sidecar_feed_reconnects_total", "Changes feed (re)connections after an error", ["db"])
FEED_UP = Gauge("sidecar_feed_up", "1 while the worker follows this database's changes feed, 0 while it cannot",
                ["db"])
CHANGES_LAG = Gauge("sidecar_changes_lag", "Changes received but not yet worked off", ["db"])
WEBHOOK_EVENTS = Counter("sidecar_webhook_events_total", "Webhook events received", ["arr", "event", "outcome"])
RECONCILE_RUNS = Counter("sidecar_reconcile_runs_total", "Reconcile runs by result", ["result"])
RECONCILE_LAST = Gauge("sidecar_reconcile_last_timestamp_seconds", "When the last reconcile finished")
RECONCILE_LAST_DOCS = Gauge("sidecar_reconcile_last_docs", "Docs by outcome in the last reconcile", ["outcome"])
CONFLICTS_RESOLVED = Counter("sidecar_conflicts_resolved_total",
                             "Documents with several leaves settled by the resolver, by outcome "
                             "(merged, moved, withdrawn, annotated)", ["db", "outcome"])
CLAIMS_WITHOUT_QUORUM = Counter("sidecar_claims_without_quorum_total",
                                "Claims CouchDB stored on fewer copies than its write quorum (202): not acted on",
                                ["db"])
LOOKUPS = Counter("sidecar_lookups_total", "Title searches (lookups db) worked off, by kind and outcome "
                  "(answered, failed)", ["kind", "outcome"])
LOOKUP_SECONDS = Histogram("sidecar_lookup_seconds", "Claim to answer written, per lookup (Radarr/Sonarr's "
                           "search included)", ["kind"])
LOOKUPS_CLEANED = Counter("sidecar_lookups_cleaned_total", "Answered/failed lookups older than LOOKUP_TTL deleted")
DOWNLOAD_POLLS = Counter("sidecar_download_polls_total",
                         "Reads of a Radarr/Sonarr download queue while titles are grabbed, by outcome (ok, error)",
                         ["arr", "instance", "outcome"])
DOWNLOAD_WRITES = Counter("sidecar_download_writes_total",
                          "Collection docs whose `download` was written (progress) or taken off (removed)",
                          ["db", "what"])
DOWNLOAD_SKIPPED = Counter("sidecar_download_skipped_total",
                           "Download updates not written because they did not move by a visible step", ["db"])
POSTERS = Counter("sidecar_posters_total", "Poster thumbnails stored as collection attachments, by outcome (stored, "
                  "over_budget: skipped, POSTERS_MAX_MB is full; failed: not fetched or not written, tried again "
                  "at the next reconcile; dropped: the worker's poster queue was full)", ["kind", "outcome"])
POSTER_BYTES = Gauge("sidecar_poster_bytes", "Bytes of poster attachments in the collection database, as this "
                     "process last counted them", ["kind"])
