"""The pair page's time range read from the URL (dashboard/time_range.py): presets and custom
ranges counted back from the wall clock, the old ?days=, and gaps in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hawatch.dashboard.time_range import ago, days_as_range, parse_range

NOW = datetime(2026, 11, 26, 11, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("args", "length", "label"),
    [
        ({}, timedelta(hours=24), "last 24 h"),
        ({"range": "1h"}, timedelta(hours=1), "last 1 h"),
        ({"range": "6h"}, timedelta(hours=6), "last 6 h"),
        ({"range": "7d"}, timedelta(days=7), "last 7 d"),
        ({"range": "30d"}, timedelta(days=30), "last 30 d"),
        ({"range": " 3D"}, timedelta(days=3), "last 3 d"),
    ],
)
def test_a_preset_ends_now(args, length, label):
    window = parse_range(args, NOW)
    assert (window.end, window.end - window.start, window.label) == (NOW, length, label)
    assert window.query() == {"range": (args.get("range") or "24h").strip().lower()}


def test_a_custom_range_is_utc_and_ends_now_without_an_end():
    window = parse_range({"start": "2026-11-20T08:00"}, NOW)
    assert window.start == datetime(2026, 11, 20, 8, tzinfo=UTC) and window.end == NOW
    window = parse_range({"start": "2026-11-20T08:00+01:00", "end": "2026-11-21 00:00"}, NOW)
    assert window.start == datetime(2026, 11, 20, 7, tzinfo=UTC)
    assert window.label == "2026-11-20 07:00 to 2026-11-21 00:00 UTC"
    assert window.query() == {"start": "2026-11-20T07:00", "end": "2026-11-21T00:00"}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ({"range": "2w"}, "range must be one of 1h, 6h, 24h, 7d, 30d"),
        ({"range": "0h"}, "more than 0"),
        ({"range": "91d"}, "at most 90 d"),
        ({"start": "yesterday"}, "start must be a time like 2026-11-26T08:00"),
        ({"start": "2026-11-20T08:00", "end": "soon"}, "end must be a time"),
        ({"start": "2026-11-20T08:00", "end": "2026-11-20T07:00"}, "start must be before end"),
        ({"start": "2026-01-01T00:00"}, "at most 90 d"),
    ],
)
def test_a_bad_range_says_why_in_one_line(args, says):
    with pytest.raises(ValueError, match=says) as raised:
        parse_range(args, NOW)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("days", "range_"),
    [("3", "3d"), ("0.25", "6h"), ("1", "1d"), ("1.5", "1.5d"), ("0.1", "0.1d"), ("90", "90d")],
)
def test_the_old_days_value_becomes_a_range(days, range_):
    assert days_as_range(days) == range_
    assert parse_range({"range": range_}, NOW).start == NOW - timedelta(days=float(days))


@pytest.mark.parametrize("days", ["x", "0", "-1", "91", "nan"])
def test_a_bad_days_value_is_refused(days):
    with pytest.raises(ValueError):
        days_as_range(days)


@pytest.mark.parametrize(
    ("gap", "words"),
    [
        (timedelta(hours=3, minutes=12, seconds=40), "3 h 12 min"),
        (timedelta(days=29, hours=21, minutes=5), "29 d 21 h"),
        (timedelta(days=2), "2 d"),
        (timedelta(hours=1), "1 h"),
        (timedelta(minutes=7), "7 min"),
        (timedelta(seconds=40), "40 s"),
        (timedelta(seconds=-5), "0 s"),
    ],
)
def test_a_gap_in_words(gap, words):
    assert ago(gap) == words
