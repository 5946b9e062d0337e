"""One analysis pass, assembled in one place: scope -> role-change context -> detectors ->
reconcile -> bookkeeping, in a single transaction so readers never see half a pass.

Incremental by default: only pairs with new data since the last pass (`analysis_dirty`),
from that data minus the look-back, so a pass after an hour of new data costs in proportion
to that hour, not to the history.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from hawatch.analytics import (
    config_drift,
    crosscheck,
    failover_test,
    flapping,
    freshness,
    heartbeat,
    load_detail,
    recovery,
    session_drop,
    split_brain,
    unsynced_failover,
)
from hawatch.analytics.candidates import reset_candidates
from hawatch.analytics.incidents import Reconciled, reconcile
from hawatch.analytics.role_changes import build_role_changes
from hawatch.analytics.scope import build_scope
from hawatch.analytics.thresholds import Thresholds
from hawatch.store.db import Store

# split_brain first: role changes during a split brain belong to it, not to unsynced_failover.
# Detectors that need to know when a pair's load came back ask first, and are answered
# together (analytics/recovery.py) from buckets read once (analytics/load_detail.py).
SQL_DETECTORS = (unsynced_failover, failover_test, session_drop, heartbeat, config_drift,
                 crosscheck)


@dataclass
class AnalysisReport:
    mode: str
    pairs: int
    reconciled: Reconciled
    seconds: float


def analyze(store: Store, thresholds: Thresholds | None = None,
            since: datetime | None = None, full: bool = False) -> AnalysisReport:
    """Run every detector over the pairs in scope and update `incidents`."""
    t = thresholds or Thresholds.from_settings()
    params = t.params()
    mode = "since" if since else "full" if full else "incremental"
    started = time.perf_counter()
    with store.transaction() as cur:
        run_started = cur.execute("SELECT now()").fetchone()[0]
        if mode == "incremental" and not cur.execute(
                "SELECT count(*) FROM analysis_runs").fetchone()[0]:
            mode = "full"  # a first pass looks at everything
        pairs = build_scope(cur, mode, since, t["analysis.lookback_hours"])
        reset_candidates(cur)
        if pairs:
            build_role_changes(cur, params)
            split_brain.detect(cur, params)
            recovery.reset(cur)
            unsynced_failover.request_recovery(cur, params)
            load_detail.read(cur, params)
            session_drop.request_recovery(cur, params)
            recovery.resolve(cur)
            for detector in SQL_DETECTORS:
                detector.detect(cur, params)
            flapping.detect(cur, t)
        freshness.judge(cur, params)  # every pair, every pass: silence brings no new data
        reconciled = reconcile(cur)
        cur.execute("DELETE FROM analysis_dirty WHERE marked_at <= ?", [run_started])
        seconds = time.perf_counter() - started
        cur.execute("INSERT INTO analysis_runs VALUES (now(), ?, ?, ?, ?, ?, ?, ?)",
                    [mode, pairs, reconciled.opened, reconciled.updated, reconciled.resolved,
                     reconciled.withdrawn, seconds])
    return AnalysisReport(mode, pairs, reconciled, time.perf_counter() - started)
