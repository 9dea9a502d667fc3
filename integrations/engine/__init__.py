"""The delivery engine: from a committed event to its last attempt, for every kind alike.

`outbox` writes syncs in the caller's transaction; `dispatch` hands them to Celery (the only
module that touches tasks); `delivery` claims, delivers through the connector and records;
`sweep` re-enqueues due and stranded syncs, retries, replays and prunes. `claims`,
`resilience`, `policy` and `metrics` serve delivery; `schedules` declares the periodic tasks.
It never names a vendor: connectors come from the registry. See docs/architecture.md.
"""
