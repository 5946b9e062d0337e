-- Where each source came from, set when it is first claimed (collector/ingest.py): `udp`,
-- `tcp` (a `hawatch serve` listener's spool file), `http` (an upload) or `file` (anything
-- ingested from a path or stdin, including the serve drop folder). Documented in
-- docs/schema.md.
ALTER TABLE sources ADD COLUMN origin VARCHAR;

-- sources stored before this column: serve's spool files and uploads are recognised by name
UPDATE sources SET origin = coalesce(nullif(regexp_extract(
    name, '(?:^|/)(udp|tcp|http)-[0-9]{8}T[0-9]{6}[^/]*$', 1), ''), 'file');
