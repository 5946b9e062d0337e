"""Config drift: the two units of a pair report different models or firmware.

An HA pair must be two identical units; a firmware mismatch after a half-done upgrade is a
classic reason for failover to misbehave. The status history (exports, API polls) gives,
at each report, both units' latest model and firmware; a stretch where they differ is an
incident, resolved at the first report where they agree again. Explicit mismatch messages
(model_mismatch, firmware_mismatch, hardware_id_mismatch, incompatible_peer) are incidents
too, merged with the stretch they fall in.
"""

from __future__ import annotations

import duckdb
from hawatch.store.execute import execute_script

_DETECT = """
CREATE OR REPLACE TEMP TABLE config_report_times AS
SELECT DISTINCT x.pair, x.time
FROM status_samples x JOIN scope s ON s.pair = x.pair
WHERE x.model IS NOT NULL OR x.firmware IS NOT NULL;

CREATE OR REPLACE TEMP TABLE unit_configs_by_report AS
SELECT c.pair, c.time, pv.model AS p_model, pv.firmware AS p_fw,
       sv.model AS s_model, sv.firmware AS s_fw
FROM config_report_times c JOIN pairs p ON p.pair = c.pair
ASOF LEFT JOIN (SELECT serial, time, model, firmware FROM status_samples
                WHERE model IS NOT NULL OR firmware IS NOT NULL) pv
  ON pv.serial = p.primary_serial AND pv.time <= c.time
ASOF LEFT JOIN (SELECT serial, time, model, firmware FROM status_samples
                WHERE model IS NOT NULL OR firmware IS NOT NULL) sv
  ON sv.serial = p.secondary_serial AND sv.time <= c.time;

CREATE OR REPLACE TEMP TABLE config_mismatch_runs AS
WITH flagged AS (
    SELECT *, (p_fw IS DISTINCT FROM s_fw AND p_fw IS NOT NULL AND s_fw IS NOT NULL)
              OR (p_model IS DISTINCT FROM s_model AND p_model IS NOT NULL
                  AND s_model IS NOT NULL) AS differs
    FROM unit_configs_by_report
), runs AS (
    SELECT *, sum(CASE WHEN differs THEN 0 ELSE 1 END) OVER (PARTITION BY pair ORDER BY time)
              AS run
    FROM flagged
)
SELECT r.pair, min(r.time) AS started_at, arg_min(r.p_fw, r.time) AS p_fw,
       arg_min(r.s_fw, r.time) AS s_fw, arg_min(r.p_model, r.time) AS p_model,
       arg_min(r.s_model, r.time) AS s_model, max(r.time) AS last_differs
FROM runs r WHERE differs GROUP BY r.pair, r.run;

INSERT INTO candidates
SELECT d.pair, 'config_mismatch', 'warning', d.started_at, min(ok.time),
       CASE WHEN d.p_fw IS DISTINCT FROM d.s_fw
            THEN printf('firmware differs: primary %s, secondary %s', d.p_fw, d.s_fw)
            ELSE printf('model differs: primary %s, secondary %s', d.p_model, d.s_model) END,
       json_object('field', CASE WHEN d.p_fw IS DISTINCT FROM d.s_fw THEN 'firmware'
                                 ELSE 'model' END,
                   'primary_firmware', d.p_fw, 'secondary_firmware', d.s_fw,
                   'primary_model', d.p_model, 'secondary_model', d.s_model),
       NULL
FROM config_mismatch_runs d
LEFT JOIN unit_configs_by_report ok ON ok.pair = d.pair AND ok.time > d.last_differs
                     AND ok.p_fw IS NOT DISTINCT FROM ok.s_fw
                     AND ok.p_model IS NOT DISTINCT FROM ok.s_model
GROUP BY ALL;

INSERT INTO candidates
SELECT e.pair, 'config_mismatch', 'warning', e.time, NULL,
       replace(e.kind, '_', ' ') || coalesce(': ' || e.detail, ''),
       json_object('field', e.kind, 'reported_by', e.serial, 'detail', e.detail),
       'message@' || CAST(e.time AS VARCHAR)
FROM ha_events e JOIN scope s ON s.pair = e.pair
WHERE e.kind IN ('model_mismatch', 'firmware_mismatch', 'hardware_id_mismatch',
                 'incompatible_peer')
  AND e.time >= s.start
  -- a mismatch the status history already shows is that stretch's incident
  AND e.pair NOT IN (SELECT pair FROM config_mismatch_runs);
"""


def detect(cur: duckdb.DuckDBPyConnection, params: dict[str, object]) -> None:
    execute_script(cur, _DETECT, params)
