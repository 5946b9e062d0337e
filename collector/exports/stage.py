"""Stage a batch of export records: normalise in Python, convert times and units in SQL.

Exports are small next to syslog, so records are normalised one by one (`parse_export`),
then the time-zone conversion and unit mapping run in SQL with the same macro and
`unit_map` view the syslog parser uses, so both sources agree on UTC and on units.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields

import duckdb
import pyarrow as pa
from hawatch.collector.exports.parse import Reject, Row, normalise
from hawatch.collector.exports.records import Bad, Item
from hawatch.collector.pairing import apply_pairing
from hawatch.store.execute import execute_script

_ROW_SCHEMA = pa.schema(
    [("pos", pa.int64())]
    + [
        (
            f.name,
            pa.timestamp("us")
            if f.name in ("time", "ends")
            else pa.bool_()
            if f.name in ("is_utc", "by_subject")
            else pa.int64()
            if f.name in ("connections", "vpn_sas", "max_connections", "message_id")
            else pa.string(),
        )
        for f in fields(Row)
    ]
)

# What exports say about pairing and hardware, applied before the rows are staged, so the
# rows of the very batch that pairs two units already carry their pair.
_PAIRING = """
INSERT INTO stg_pairing (serial, pair, role, peer_serial, ha_mode, model, firmware, seen)
SELECT serial, pair, CASE WHEN by_subject THEN NULL ELSE subject END, peer_serial, ha_mode,
       model, firmware, time
FROM ex_rows
WHERE type <> 'window'
  AND (pair IS NOT NULL OR peer_serial IS NOT NULL OR model IS NOT NULL
       OR firmware IS NOT NULL OR ha_mode IS NOT NULL)
"""

_STAGE = """
CREATE OR REPLACE TEMP TABLE ex_norm AS
WITH tz AS (
    SELECT s.serial, coalesce(d.timezone, p.timezone, $default_tz) AS tz
    FROM (SELECT DISTINCT serial FROM ex_rows) s
    LEFT JOIN devices d ON d.serial = s.serial LEFT JOIN pairs p ON p.pair = d.pair
)
SELECT r.*, tz.tz, local_to_utc(r.time, CASE WHEN r.is_utc THEN 'UTC' ELSE tz.tz END) AS utc,
       -- API polls and SonicOS texts name their subject: map it like syslog (shared sn=)
       coalesce(CASE WHEN r.by_subject THEN u.serial END, r.serial) AS unit,
       coalesce(r.pair, CASE WHEN r.by_subject THEN u.pair END, d.pair) AS unit_pair,
       coalesce(r.subject, CASE WHEN r.by_subject THEN u.role END, d.role) AS unit_role
FROM ex_rows r JOIN tz USING (serial)
LEFT JOIN unit_map u ON r.by_subject AND u.reported_serial = r.serial
                    AND u.subject IS NOT DISTINCT FROM r.subject
LEFT JOIN devices d ON d.serial = r.serial;

INSERT INTO stg_events
SELECT md5(concat_ws('|', unit, kind, utc, detail, message_id)), utc, unit_pair, unit,
       serial, unit_role, kind,
       CASE state_to WHEN 'active' THEN 'standby' WHEN 'standby' THEN 'active' END,
       state_to, trigger, detail, message_id, NULL, NULL, time, NULL, pos
FROM ex_norm WHERE type = 'event';

INSERT INTO stg_samples
SELECT utc, unit_pair, unit, connections, vpn_sas, pos FROM ex_norm WHERE type = 'sample';

INSERT INTO stg_windows
SELECT pair, utc, local_to_utc(ends, CASE WHEN is_utc THEN 'UTC' ELSE tz END), kind, detail,
       pos
FROM ex_norm WHERE type = 'window';

-- one record's rows about one unit are one status (a poll's own fields and, resolved
-- through the shared serial, its state)
INSERT INTO stg_status
SELECT utc, any_value(unit_pair), unit, any_value(state_to), any_value(stateful_sync),
       any_value(model), any_value(firmware), any_value(ha_mode), pos, any_value(max_connections)
FROM ex_norm WHERE type = 'status' GROUP BY unit, utc, pos;

"""


def _raw(record: object) -> str:
    try:
        return json.dumps(record, default=str)[:4096]
    except (TypeError, ValueError):
        return repr(record)[:4096]


def stage_export(cur: duckdb.DuckDBPyConnection, items: list[Item], default_tz: str) -> None:
    """Fill the stg_* tables (already reset by the caller) from one batch of records."""
    rows: list[dict[str, object]] = []
    rejects: list[dict[str, object]] = []
    for pos, record in items:
        if isinstance(record, Bad):
            rejects.append({"pos": pos, "raw": record.raw, "reason": record.reason})
            continue
        try:
            normalised = normalise(record)
        except Reject as exc:
            rejects.append({"pos": pos, "raw": _raw(record), "reason": str(exc)})
            continue
        for row in normalised:
            rows.append({"pos": pos, **asdict(row)})
    if rejects:
        table = pa.Table.from_pylist(
            rejects, pa.schema([("pos", pa.int64()), ("raw", pa.string()), ("reason", pa.string())])
        )
        cur.register("ex_rejects", table)
        cur.execute("INSERT INTO stg_rejects SELECT pos, raw, strlen(raw), reason FROM ex_rejects")
        cur.unregister("ex_rejects")
    if rows:
        cur.register("ex_rows_arrow", pa.Table.from_pylist(rows, _ROW_SCHEMA))
        cur.execute("CREATE OR REPLACE TEMP TABLE ex_rows AS SELECT * FROM ex_rows_arrow")
        cur.unregister("ex_rows_arrow")
        cur.execute(_PAIRING)
        apply_pairing(cur, "export")
        execute_script(cur, _STAGE, {"default_tz": default_tz})
