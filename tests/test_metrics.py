"""/metrics in Prometheus' text format, in full precision: the red team of issue 10 saw
1,001,541 received lines as `1.00154e+06`, which a scraper reads back as 1,001,540."""

from __future__ import annotations

import re

import pytest
from hawatch.collector.ingest import SourceReport
from hawatch.collector.writer import BatchResult

from hawatch import metrics as metrics_module
from hawatch.metrics import Metrics

SAMPLE = re.compile(r'^hawatch_[a-z_]+(\{[a-z]+="[a-z_]+"(,[a-z]+="[a-z_]+")*\})? (\S+)$')


def rendered(lines: int, seconds: float) -> dict[str, str]:
    metrics = Metrics()
    report = SourceReport(
        "spool", lines=lines, result=BatchResult(counted=lines - 7, quarantined=7)
    )
    metrics.record_ingest("udp", report, seconds)
    metrics.record_analysis(1234.5678901, 3)
    text = metrics.render({"udp": {"lines": 1_001_541, "kernel_drops": 0}}, 1_000_000)
    samples = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        assert SAMPLE.match(line), line
        name, value = line.rsplit(" ", 1)
        float(value)  # Prometheus parses samples as Go's ParseFloat does
        samples[name] = value
    return samples


def test_counters_above_a_million_are_printed_in_full():
    samples = rendered(1_001_541, 1_000_001.25)
    assert samples['hawatch_received_total{source="udp"}'] == "1001541"
    assert samples['hawatch_ingested_total{source="udp"}'] == "1001541"
    assert samples['hawatch_quarantined_total{source="udp"}'] == "7"
    assert samples['hawatch_parsed_total{source="udp"}'] == str(1_001_541 - 7)
    assert samples["hawatch_queue_depth_files"] == "1000000"
    assert samples['hawatch_batch_write_seconds_total{source="udp"}'] == "1000001.25"
    assert float(samples["hawatch_analysis_seconds_total"]) == 1234.5678901


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (1_001_541, "1001541"),
        (1001541.0, "1001541"),
        (2.0**60, str(2**60)),
        (0.1, "0.1"),
        (1e-9, "1e-09"),
        (float("nan"), "NaN"),
        (float("inf"), "+Inf"),
    ],
)
def test_sample_values_read_back_exactly(value, text):
    assert metrics_module.sample_value(value) == text
