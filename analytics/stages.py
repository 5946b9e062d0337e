"""The analysis pass as data: its stages in order, and every temp table that carries data
from one stage to the next, declared beside them (as collector/writer.py's STAGES declares
the tables a parser fills).

`STAGES` is the order analytics/analyze.py runs them in; it is the contract between the
detectors. `TABLES` names every temp table a pass creates, with its columns, the stage that
creates it (`producer`), the stages that add rows to it (`added_by`) and the stages that read
it (`readers`). A table nobody else reads is its producer's own working table. A stage may
read or add to a table only once an earlier stage created it.

tests/test_pass_flow.py holds this declaration to what DuckDB sees: it runs a pass on a real
store, hides from each stage every table not declared as its input, and compares the tables
and columns after each stage. `pass_map()` renders the declaration as the map in
analytics/__init__.py's docstring (a test checks that the two agree).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import ModuleType

import duckdb
from hawatch.analytics import (
    candidates,
    config_drift,
    crosscheck,
    failover_test,
    flapping,
    freshness,
    heartbeat,
    incidents,
    load_detail,
    recovery,
    role_changes,
    scope,
    session_drop,
    split_brain,
    unsynced_failover,
)
from hawatch.analytics.incidents import Reconciled
from hawatch.analytics.thresholds import Thresholds


@dataclass
class PassRun:
    """What the stages of one pass share besides their temp tables."""

    cur: duckdb.DuckDBPyConnection
    thresholds: Thresholds
    mode: str  # full | incremental | since
    since: datetime | None
    pairs: int = 0  # in scope; a pass with none stops after the scope
    reconciled: Reconciled = field(default_factory=Reconciled)
    params: dict[str, object] = field(init=False)

    def __post_init__(self) -> None:
        self.params = self.thresholds.params()


@dataclass(frozen=True)
class Stage:
    name: str
    module: ModuleType  # where its SQL lives
    run: Callable[[PassRun], object]
    # runs even when no pair is in scope: silence brings no new data, so freshness is
    # judged every pass, and what it finds is reconciled
    every_pass: bool = False


def _scope(run: PassRun) -> None:
    run.pairs = scope.build_scope(
        run.cur, run.mode, run.since, run.thresholds["analysis.lookback_hours"]
    )


def _reconcile(run: PassRun) -> None:
    run.reconciled = incidents.reconcile(run.cur)


# split_brain first: role changes during a split brain belong to it, not to unsynced_failover.
# Detectors that need to know when a pair's load came back ask first (`*.find`), and are
# answered together (recovery.resolve) from buckets read once (load_detail), then report.
STAGES: tuple[Stage, ...] = (
    Stage("scope", scope, _scope, every_pass=True),
    Stage("candidates", candidates, lambda r: candidates.reset_candidates(r.cur), every_pass=True),
    Stage("role_changes", role_changes, lambda r: role_changes.build_role_changes(r.cur, r.params)),
    Stage("split_brain", split_brain, lambda r: split_brain.detect(r.cur, r.params)),
    Stage("recovery.reset", recovery, lambda r: recovery.reset(r.cur)),
    Stage(
        "unsynced_failover.find",
        unsynced_failover,
        lambda r: unsynced_failover.request_recovery(r.cur, r.params),
    ),
    Stage("load_detail", load_detail, lambda r: load_detail.read(r.cur, r.params)),
    Stage(
        "session_drop.find", session_drop, lambda r: session_drop.request_recovery(r.cur, r.params)
    ),
    Stage("recovery.resolve", recovery, lambda r: recovery.resolve(r.cur)),
    Stage(
        "unsynced_failover.report",
        unsynced_failover,
        lambda r: unsynced_failover.detect(r.cur, r.params),
    ),
    Stage("failover_test", failover_test, lambda r: failover_test.detect(r.cur, r.params)),
    Stage("session_drop.report", session_drop, lambda r: session_drop.detect(r.cur, r.params)),
    Stage("heartbeat", heartbeat, lambda r: heartbeat.detect(r.cur, r.params)),
    Stage("config_drift", config_drift, lambda r: config_drift.detect(r.cur, r.params)),
    Stage("flapping", flapping, lambda r: flapping.detect(r.cur, r.thresholds)),
    Stage("crosscheck", crosscheck, lambda r: crosscheck.detect(r.cur, r.params)),
    Stage("freshness", freshness, lambda r: freshness.judge(r.cur, r.params), every_pass=True),
    Stage("reconcile", incidents, _reconcile, every_pass=True),
)


@dataclass(frozen=True)
class TempTable:
    holds: str  # one line: what a row is
    columns: str
    producer: str
    readers: tuple[str, ...] = ()
    added_by: tuple[str, ...] = ()


_TZ = "TIMESTAMPTZ"
# a role change with its context (analytics/role_changes.py), one row per (pair, change_no)
_ROLE_CHANGE_CONTEXT = f"""pair VARCHAR, time {_TZ}, change_no BIGINT, new_active VARCHAR,
    old_active VARCHAR, kind VARCHAR, trigger VARCHAR, prev_change {_TZ},
    next_change {_TZ}, seen_in VARCHAR, monitor VARCHAR, monitor_cause VARCHAR,
    sync_state VARCHAR, conn_before BIGINT,
    vpn_before BIGINT, conn_after BIGINT, vpn_after BIGINT, in_test_window BOOLEAN,
    window_start {_TZ}, window_end {_TZ}, kept_pct DOUBLE, vpn_kept_pct DOUBLE,
    unsynced BOOLEAN"""
_RECOVERY_ASKERS = ("unsynced_failover.find", "session_drop.find")
_DETECTORS = (
    "split_brain",
    "unsynced_failover.report",
    "failover_test",
    "session_drop.report",
    "heartbeat",
    "config_drift",
    "flapping",
    "crosscheck",
    "freshness",
)

TABLES: dict[str, TempTable] = {
    # -- shared: what the stages hand each other --------------------------------------------
    "scope": TempTable(
        "a pair this pass looks at, and from when",
        f"pair VARCHAR, start {_TZ}",
        "scope",
        readers=(
            "role_changes",
            "split_brain",
            "unsynced_failover.find",
            "load_detail",
            "session_drop.find",
            "failover_test",
            "session_drop.report",
            "heartbeat",
            "config_drift",
            "flapping",
            "crosscheck",
            "freshness",
            "reconcile",
        ),
    ),
    "candidates": TempTable(
        "a finding of a detector, before it is reconciled with the stored incidents",
        candidates.COLUMNS,
        "candidates",
        readers=("split_brain", "unsynced_failover.find", "reconcile"),
        added_by=_DETECTORS,
    ),
    "role_change_history": TempTable(
        "every role change of the pairs in scope (what the stored role_changes gets), from"
        " an HA message or only the status reports (seen_in)",
        f"""pair VARCHAR, time {_TZ}, new_active VARCHAR, old_active VARCHAR, kind VARCHAR,
        trigger VARCHAR, message_id INTEGER, event_key VARCHAR, change_no BIGINT,
        seen_in VARCHAR""",
        "role_changes",
        readers=("split_brain", "crosscheck"),
    ),
    "role_change_neighbours": TempTable(
        "a role change from the scope's start (minus 2 h) with the times of its neighbours",
        f"""pair VARCHAR, time {_TZ}, change_no BIGINT, new_active VARCHAR,
        old_active VARCHAR, kind VARCHAR, trigger VARCHAR, prev_change {_TZ},
        next_change {_TZ}, seen_in VARCHAR""",
        "role_changes",
        readers=("crosscheck",),
    ),
    "status_claims": TempTable(
        "a moment a status report (poll, exported status) names exactly one unit active,"
        " from a day before the scope",
        f"pair VARCHAR, time {_TZ}, active VARCHAR",
        "role_changes",
        readers=("crosscheck",),
    ),
    "role_change_checks": TempTable(
        "a role change an HA message reported, with the first status report after it and"
        " whether that names the new active unit",
        f"""pair VARCHAR, change_no BIGINT, status_agrees BOOLEAN, status_at {_TZ},
        status_active VARCHAR""",
        "role_changes",
        readers=("crosscheck",),
    ),
    "role_changes_in_scope": TempTable(
        "a role change from the scope's start (minus 2 h) with its context: cause, sync"
        " state, connections before and after, test window, unsynced or not",
        _ROLE_CHANGE_CONTEXT,
        "role_changes",
        readers=("unsynced_failover.find", "failover_test", "session_drop.report", "flapping"),
    ),
    "recovery_wanted": TempTable(
        "a question: when did the pair's connections reach `level` after `after`?",
        f"asker VARCHAR, pair VARCHAR, after {_TZ}, until {_TZ}, level DOUBLE",
        "recovery.reset",
        readers=("load_detail", "recovery.resolve"),
        added_by=_RECOVERY_ASKERS,
    ),
    "recovered": TempTable(
        "the answer to a recovery question; none when the load never came back",
        f"asker VARCHAR, pair VARCHAR, after {_TZ}, back_at {_TZ}",
        "recovery.resolve",
        readers=("unsynced_failover.report", "session_drop.report"),
    ),
    "load_detail": TempTable(
        "a 5-minute bucket of a pair's load on the days a drop or recovery needs",
        f"pair VARCHAR, t {_TZ}, conn BIGINT, ref DOUBLE",
        "load_detail",
        readers=("session_drop.find", "recovery.resolve"),
    ),
    "unsynced_failovers": TempTable(
        "a role change that lost the sessions, outside test windows and split brains",
        _ROLE_CHANGE_CONTEXT,
        "unsynced_failover.find",
        readers=("unsynced_failover.report",),
    ),
    "session_drops": TempTable(
        "a run of low buckets long enough to be a drop",
        f"""pair VARCHAR, started_at {_TZ}, last_low {_TZ}, buckets BIGINT,
        level_before DOUBLE, lowest BIGINT""",
        "session_drop.find",
        readers=("session_drop.report",),
    ),
    # -- a stage's own working tables -------------------------------------------------------
    "role_messages": TempTable(
        "a message (or an unreported change the status reports show) naming the active unit",
        f"""pair VARCHAR, time {_TZ}, active VARCHAR, kind VARCHAR, trigger VARCHAR,
        message_id INTEGER, seq BIGINT, event_key VARCHAR, step INTEGER, seen_in VARCHAR""",
        "role_changes",
    ),
    "status_role_changes": TempTable(
        "a change of the active unit two status reports in a row show and no message named",
        f"""pair VARCHAR, time {_TZ}, active VARCHAR, prev_active VARCHAR,
        prev_last_at {_TZ}""",
        "role_changes",
    ),
    "split_brain_unit_states": TempTable(
        "a unit becoming active, standby or rebooting (from a day before the scope)",
        f"pair VARCHAR, serial VARCHAR, time {_TZ}, state VARCHAR, kind VARCHAR",
        "split_brain",
    ),
    "split_brain_overlaps": TempTable(
        "a unit becoming active while its peer's last state was active too",
        f"pair VARCHAR, serial VARCHAR, started_at {_TZ}, peer VARCHAR",
        "split_brain",
    ),
    "split_brain_overlap_ends": TempTable(
        "when an overlap ended (the next standby or reboot)",
        f"pair VARCHAR, started_at {_TZ}, ended_at {_TZ}",
        "split_brain",
    ),
    "split_brain_link_states": TempTable(
        "the HA link's last reported state when an overlap began",
        f"pair VARCHAR, started_at {_TZ}, link_state VARCHAR, link_at {_TZ}",
        "split_brain",
    ),
    "load_detail_days": TempTable(
        "a day of a pair whose buckets load_detail unnests",
        f"pair VARCHAR, day_start {_TZ}",
        "load_detail",
    ),
    "session_low_buckets": TempTable(
        "a bucket below the previous hour's mean by session_drop.drop_percent",
        f"pair VARCHAR, t {_TZ}, conn BIGINT, baseline DOUBLE",
        "session_drop.find",
    ),
    "recovery_questions": TempTable(
        "a distinct recovery question, and how far load_detail can answer it",
        f"""asker VARCHAR, pair VARCHAR, after {_TZ}, until {_TZ}, level DOUBLE,
        near_until {_TZ}""",
        "recovery.resolve",
    ),
    "recovery_later_days": TempTable(
        "for a question load_detail could not answer: the first later day that can",
        f"""asker VARCHAR, pair VARCHAR, after {_TZ}, until {_TZ}, level DOUBLE,
        day_start {_TZ}""",
        "recovery.resolve",
    ),
    "failover_tests": TempTable(
        "a failover-test window with its role changes and the shares they kept",
        f"""pair VARCHAR, starts_at {_TZ}, ends_at {_TZ}, comment VARCHAR,
        role_changes BIGINT, first_at {_TZ}, last_at {_TZ}, kept_pct DOUBLE,
        vpn_kept_pct DOUBLE, conn_before BIGINT, conn_after BIGINT, sync_off BOOLEAN""",
        "failover_test",
    ),
    "session_drops_recovered": TempTable(
        "a drop with its recovery time",
        f"""pair VARCHAR, started_at {_TZ},
        last_low {_TZ}, buckets BIGINT, level_before DOUBLE, lowest BIGINT,
        recovered_at {_TZ}""",
        "session_drop.report",
    ),
    "heartbeat_losses": TempTable(
        "one heartbeat loss (several reports of one second are one)",
        f"pair VARCHAR, time {_TZ}, kind VARCHAR, serial VARCHAR",
        "heartbeat",
    ),
    "ha_link_changes": TempTable(
        "an HA link going down or up, with the change before it",
        f"pair VARCHAR, time {_TZ}, kind VARCHAR, prev_kind VARCHAR",
        "heartbeat",
    ),
    "config_report_times": TempTable(
        "a moment a unit of the pair reported its model or firmware",
        f"pair VARCHAR, time {_TZ}",
        "config_drift",
    ),
    "unit_configs_by_report": TempTable(
        "both units' latest model and firmware at such a moment",
        f"""pair VARCHAR, time {_TZ}, p_model VARCHAR, p_fw VARCHAR, s_model VARCHAR,
        s_fw VARCHAR""",
        "config_drift",
    ),
    "config_mismatch_runs": TempTable(
        "a stretch of reports where the units differ",
        f"""pair VARCHAR, started_at {_TZ}, p_fw VARCHAR, s_fw VARCHAR, p_model VARCHAR,
        s_model VARCHAR, last_differs {_TZ}""",
        "config_drift",
    ),
    "freshness_findings": TempTable(
        "an open unit_unreachable or unit_silent finding", candidates.COLUMNS, "freshness"
    ),
    "candidates_unique": TempTable(
        "the findings, one per incident identity", candidates.COLUMNS, "reconcile"
    ),
    "candidates_matched": TempTable(
        "a finding with the stored incident it continues (NULL: a new one)",
        candidates.COLUMNS + ", incident_id BIGINT",
        "reconcile",
    ),
    "incident_updates": TempTable(
        "a stored incident's new state, merged from the findings that continue it",
        f"""incident_id BIGINT, pair VARCHAR, kind VARCHAR, opened_at {_TZ},
        resolved_at {_TZ}, severity VARCHAR, summary VARCHAR, evidence JSON""",
        "reconcile",
    ),
}


def reads(stage: str) -> list[str]:
    """The temp tables `stage` reads or adds to: all made by earlier stages."""
    return [name for name, t in TABLES.items() if stage in t.readers or stage in t.added_by]


def writes(stage: str) -> list[str]:
    """The temp tables `stage` creates."""
    return [name for name, t in TABLES.items() if t.producer == stage]


def _where(module: ModuleType) -> str:
    return module.__name__.removeprefix("hawatch.").replace(".", "/") + ".py"


WIDTH = 96


def _wrapped(head: str, items: list[str], indent: int) -> list[str]:
    return textwrap.wrap(
        head + ", ".join(items), WIDTH, subsequent_indent=" " * indent, break_on_hyphens=False
    )


def _stage_lines(number: int, stage: Stage) -> list[str]:
    made = writes(stage.name)
    shared = [n for n in made if TABLES[n].readers or TABLES[n].added_by]
    rows = [
        ("reads", [n for n in reads(stage.name) if stage.name in TABLES[n].readers]),
        ("creates", shared),
        ("own", [n for n in made if n not in shared]),
        ("adds to", [n for n in reads(stage.name) if stage.name in TABLES[n].added_by]),
    ]
    lines = [f"{number:2}. {stage.name:<26}{_where(stage.module)}"]
    for label, names in rows:
        if names:
            lines += _wrapped(f"      {label:<8}", names, 14)
    return lines


def _table_lines(name: str, table: TempTable) -> list[str]:
    same = [other for other, t in TABLES.items() if t.columns == table.columns and other != name]
    if same and list(TABLES).index(same[0]) < list(TABLES).index(name):
        lines = [f"  {name}: the columns of {same[0]}"]
    else:
        lines = _wrapped(
            f"  {name}(", [c.split()[0] for c in table.columns.split(",")], len(name) + 3
        )
        lines[-1] += ")"
    return lines + textwrap.wrap(
        table.holds, WIDTH, initial_indent=" " * 6, subsequent_indent=" " * 6
    )


def pass_map() -> str:
    """The stages in order with the temp tables each reads, creates and adds to, then the
    shared tables' columns: the map in analytics/__init__.py's docstring."""
    lines = []
    for number, stage in enumerate(STAGES, 1):
        lines += _stage_lines(number, stage)
    lines += ["", "Shared temp tables (their types: analytics/stages.py TABLES):"]
    for name, table in TABLES.items():
        if table.readers or table.added_by:
            lines += _table_lines(name, table)
    return "\n".join(lines)
