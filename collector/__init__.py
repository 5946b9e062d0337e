"""The collector: syslog, export files, uploads and polls in; normalised rows in the store out.

By role, in sub-packages:

    syslog/           the listener child (UDP and TCP receivers, framing, spool files); it
                      never imports DuckDB: `hawatch serve` ingests its closed spool files
    exports/          API-style export records (JSON, NDJSON, CSV): read, normalise, stage
    pollers/          asking the firewalls (SonicOS REST, SNMP): a poll becomes an export record
    vendors/sonicos/  the SonicOS syslog parser, its message catalog, the C line scanner

and the ingest core, here:

    ingest.py         a file, stdin, a spool file or an upload -> batches -> staged -> stored
    inputs.py         find an input, open it (gzip too), tell its format
    line_batches.py   an input cut into whole-line Arrow batches, read ahead
    source_table.py   the `sources` table: which source is which, how far it was committed
    writer.py         the stage tables every parser fills, and the batch's one transaction
    pairing.py        which units form which pair (inventory, exports naming a peer)
    inventory.py      the pair inventory, CSV or TOML
    drop_folder.py    serve's watched folder: which files to ingest, when to file them away
    limits.py         what one source may cost (decompressed bytes, quarantined lines)

The collector imports only store/ (tests/test_layers.py), and syslog/ nothing outside itself.
"""
