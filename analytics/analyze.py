"""One analysis pass, assembled in one place: the stages of analytics/stages.py in order
(scope -> role-change context -> detectors -> reconcile), then the bookkeeping, in a single
transaction so readers never see half a pass.

Incremental by default: only pairs with new data since the last pass (`analysis_dirty`),
from that data minus the look-back, so a pass after an hour of new data costs in proportion
to that hour, not to the history.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import duckdb
from hawatch.analytics.incidents import Reconciled
from hawatch.analytics.stages import STAGES, PassRun, Stage
from hawatch.analytics.thresholds import Thresholds
from hawatch.store.db import Store
from hawatch.store.execute import one_row

# Runs one stage (the third argument) its own way: to time it, or, in tests, to check it
# against the declaration of the temp tables it may touch.
StageWatch = Callable[[Stage, duckdb.DuckDBPyConnection, Callable[[], object]], None]


@dataclass
class AnalysisReport:
    mode: str
    pairs: int
    reconciled: Reconciled
    seconds: float


def run_stages(run: PassRun, watch: StageWatch | None = None) -> None:
    """Every stage in order; a pass with no pair in scope runs only the stages that run
    every pass (freshness, and reconciling what it found)."""
    for stage in STAGES:
        if not run.pairs and not stage.every_pass:
            continue
        if watch is None:
            stage.run(run)
        else:
            watch(stage, run.cur, functools.partial(stage.run, run))


def analyze(
    store: Store,
    thresholds: Thresholds | None = None,
    since: datetime | None = None,
    full: bool = False,
    watch: StageWatch | None = None,
) -> AnalysisReport:
    """Run every detector over the pairs in scope and update `incidents`."""
    mode = "since" if since else "full" if full else "incremental"
    started = time.perf_counter()
    with store.transaction() as cur:
        run_started = one_row(cur, "SELECT now()")[0]
        if mode == "incremental" and not one_row(cur, "SELECT count(*) FROM analysis_runs")[0]:
            mode = "full"  # a first pass looks at everything
        run = PassRun(cur, thresholds or Thresholds.from_settings(), mode, since)
        run_stages(run, watch)
        reconciled = run.reconciled
        cur.execute("DELETE FROM analysis_dirty WHERE marked_at <= ?", [run_started])
        seconds = time.perf_counter() - started
        cur.execute(
            "INSERT INTO analysis_runs VALUES (now(), ?, ?, ?, ?, ?, ?, ?)",
            [
                mode,
                run.pairs,
                reconciled.opened,
                reconciled.updated,
                reconciled.resolved,
                reconciled.withdrawn,
                seconds,
            ],
        )
    return AnalysisReport(mode, run.pairs, reconciled, time.perf_counter() - started)
