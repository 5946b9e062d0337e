"""Pollers: hawatch asks the firewalls themselves (SonicOS REST API over HTTPS, SNMP v2c/v3)
for their HA state, connection counts and capacity. A poll becomes an ordinary export record
(collector/exports/parse.py), so the store and the detectors treat it like any other source;
each unit's last poll outcome is kept in `poll_status`. docs/pollers.md is the guide."""
