"""API-style HA exports (JSON array, NDJSON, CSV): records read from a stream, normalised
(pure), staged into the writer's tables."""
