"""Declared windows as `hawatch windows list` shows them: newest first, each with the id that
`hawatch windows edit|remove` take, where it came from (cli: the command or the dashboard;
file: an export), and the verdicts of the failover tests inside it
(analytics/failover_test.py)."""

WINDOW_COLUMNS = [
    "window_id",
    "pair",
    "kind",
    "starts_at",
    "ends_at",
    "origin",
    "comment",
    "verdicts",
]

# one `?`: the pair to show, or NULL for every pair
WINDOW_QUERY = """
SELECT w.window_id, w.pair, w.kind, w.starts_at, w.ends_at, w.origin, w.comment,
       string_agg(i.summary, '; ' ORDER BY i.opened_at) AS verdicts
FROM windows w LEFT JOIN incidents i
  ON i.pair = w.pair AND i.kind = 'failover_test' AND i.status <> 'withdrawn'
 AND i.opened_at BETWEEN w.starts_at AND w.ends_at
WHERE w.pair = coalesce(?, w.pair)
GROUP BY ALL ORDER BY w.starts_at DESC
"""
