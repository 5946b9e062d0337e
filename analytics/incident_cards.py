"""Incidents as the incident list shows them (dashboard templates/_incidents.html, on the
incidents page and the pair page): each with its evidence in words, its age, who
acknowledged it and when, and its audit trail.

The list's rows come from their own queries (analytics/incident_list.py for the fleet,
analytics/pair_detail.py for one pair); this adds what both show, in three small queries
for the whole list rather than three per incident.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import duckdb
from hawatch.analytics.alerts.audit import trails
from hawatch.analytics.evidence_text import duration_words, facts


def _evidence(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value) if value else {}
    except (TypeError, ValueError):
        return {"evidence": value}
    return parsed if isinstance(parsed, dict) else {"value": parsed}


def _stored_evidence(cur: duckdb.DuckDBPyConnection, ids: list[int]) -> dict[int, Any]:
    """The evidence of incidents listed without it (the fleet's list leaves it out: the
    JSON API's rows do not carry it)."""
    return dict(
        cur.execute(
            "SELECT incident_id, evidence FROM incidents"
            " WHERE incident_id IN (SELECT UNNEST(?::BIGINT[]))",
            [ids],
        ).fetchall()
    )


def _acks(cur: duckdb.DuckDBPyConnection, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The acknowledgement in force per incident (the first, if ever more than one)."""
    rows = cur.execute(
        "SELECT incident_id, arg_min(acked_by, acked_at), min(acked_at),"
        " arg_min(comment, acked_at) FROM acknowledgements"
        " WHERE cleared_at IS NULL AND incident_id IN (SELECT UNNEST(?::BIGINT[]))"
        " GROUP BY incident_id",
        [ids],
    ).fetchall()
    return {iid: {"by": by, "at": at, "comment": comment} for iid, by, at, comment in rows}


def _silenced(
    cur: duckdb.DuckDBPyConnection, pairs: list[str], now: datetime
) -> dict[str, datetime]:
    """pair -> the end of the silence muting it now."""
    return dict(
        cur.execute(
            "SELECT pair, max(ends_at) FROM silences WHERE starts_at <= ? AND ends_at > ?"
            " AND pair IN (SELECT UNNEST(?::VARCHAR[])) GROUP BY pair",
            [now, now, pairs],
        ).fetchall()
    )


def age_words(incident: dict[str, Any], now: datetime) -> str:
    """`3 h 12 min` for an open incident (since it opened), `lasted 40 min` for one that
    ended."""
    opened, ended = incident.get("opened_at"), incident.get("resolved_at")
    if opened is None:
        return "—"
    if ended is not None:
        return "lasted " + duration_words((ended - opened).total_seconds())
    return duration_words((now - opened).total_seconds())


def incident_cards(
    cur: duckdb.DuckDBPyConnection,
    incidents: Iterable[dict[str, Any]],
    now: datetime,
    pair: str | None = None,
) -> list[dict[str, Any]]:
    """Copies of `incidents` with `facts`, `age`, `ack` (None: not acknowledged now),
    `silenced_until` (None: alerts not silenced now) and `trail` added; `pair` fills in the
    pair for lists of one pair's incidents."""
    cards = [dict(i) for i in incidents]
    for card in cards:
        card.setdefault("pair", pair)
    ids = [int(c["incident_id"]) for c in cards]
    acks = _acks(cur, ids) if ids else {}
    silenced = _silenced(cur, sorted({str(c["pair"]) for c in cards}), now) if ids else {}
    trail = trails(cur, ids)
    missing = [int(c["incident_id"]) for c in cards if "evidence" not in c]
    stored = _stored_evidence(cur, missing) if missing else {}
    for card in cards:
        iid = int(card["incident_id"])
        card["silenced_until"] = silenced.get(str(card["pair"]))
        card["evidence"] = _evidence(card.get("evidence", stored.get(iid)))
        card["facts"] = facts(card["evidence"])
        card["age"] = age_words(card, now)
        card["ack"] = acks.get(iid)
        card["trail"] = trail.get(iid, [])
    return cards
