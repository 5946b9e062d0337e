"""Syslog over UDP and TCP: the listener child (`python3 -m hawatch.collector.syslog.listener`),
framing (RFC 3164, RFC 5424, RFC 6587 octet counting), the receivers and the spool files.

Nothing here imports DuckDB, pyarrow, store/ or analytics/: the child only spools raw
lines; `hawatch serve` ingests the closed spool files."""
