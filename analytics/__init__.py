"""Detectors over the store, the incident lifecycle, pair summaries and alerting.

One analysis pass (analytics/analyze.py) runs the stages below in order, in one transaction.
They hand each other data in DuckDB temp tables, declared with their columns beside the
stage list in analytics/stages.py; a stage reads only what an earlier one created. Stored
tables the pass writes: role_changes (stage role_changes), unit_freshness (freshness),
incidents (reconcile), then analysis_dirty and analysis_runs (analyze, after the stages).
With no pair in scope, only the stages marked `every_pass` run (scope, candidates,
freshness, reconcile): silence brings no new data, so it is judged every pass.

The map below is `analytics.stages.pass_map()`; tests/test_pass_flow.py fails when they
differ, and checks the declaration against a real pass.

 1. scope                     analytics/scope.py
      creates scope
 2. candidates                analytics/candidates.py
      creates candidates
 3. role_changes              analytics/role_changes.py
      reads   scope
      creates role_change_history, role_change_neighbours, status_claims, role_change_checks,
              role_changes_in_scope
      own     role_messages, status_role_changes
 4. split_brain               analytics/split_brain.py
      reads   scope, candidates, role_change_history
      own     split_brain_unit_states, split_brain_overlaps, split_brain_overlap_ends,
              split_brain_link_states
      adds to candidates
 5. recovery.reset            analytics/recovery.py
      creates recovery_wanted
 6. unsynced_failover.find    analytics/unsynced_failover.py
      reads   scope, candidates, role_changes_in_scope
      creates unsynced_failovers
      adds to recovery_wanted
 7. load_detail               analytics/load_detail.py
      reads   scope, recovery_wanted
      creates load_detail
      own     load_detail_days
 8. session_drop.find         analytics/session_drop.py
      reads   scope, load_detail
      creates session_drops
      own     session_low_buckets
      adds to recovery_wanted
 9. recovery.resolve          analytics/recovery.py
      reads   recovery_wanted, load_detail
      creates recovered
      own     recovery_questions, recovery_later_days
10. unsynced_failover.report  analytics/unsynced_failover.py
      reads   recovered, unsynced_failovers
      adds to candidates
11. failover_test             analytics/failover_test.py
      reads   scope, role_changes_in_scope
      own     failover_tests
      adds to candidates
12. session_drop.report       analytics/session_drop.py
      reads   scope, role_changes_in_scope, recovered, session_drops
      own     session_drops_recovered
      adds to candidates
13. heartbeat                 analytics/heartbeat.py
      reads   scope
      own     heartbeat_losses, ha_link_changes
      adds to candidates
14. config_drift              analytics/config_drift.py
      reads   scope
      own     config_report_times, unit_configs_by_report, config_mismatch_runs
      adds to candidates
15. flapping                  analytics/flapping.py
      reads   scope, role_changes_in_scope
      adds to candidates
16. crosscheck                analytics/crosscheck.py
      reads   scope, role_change_history, role_change_neighbours, status_claims,
              role_change_checks
      adds to candidates
17. freshness                 analytics/freshness.py
      reads   scope
      own     freshness_findings
      adds to candidates
18. reconcile                 analytics/incidents.py
      reads   scope, candidates
      own     candidates_unique, candidates_matched, incident_updates

Shared temp tables (their types: analytics/stages.py TABLES):
  scope(pair, start)
      a pair this pass looks at, and from when
  candidates(pair, kind, severity, opened_at, resolved_at, summary, evidence, key)
      a finding of a detector, before it is reconciled with the stored incidents
  role_change_history(pair, time, new_active, old_active, kind, trigger, message_id, event_key,
                      change_no, seen_in)
      every role change of the pairs in scope (what the stored role_changes gets), from an HA
      message or only the status reports (seen_in)
  role_change_neighbours(pair, time, change_no, new_active, old_active, kind, trigger,
                         prev_change, next_change, seen_in)
      a role change from the scope's start (minus 2 h) with the times of its neighbours
  status_claims(pair, time, active)
      a moment a status report (poll, exported status) names exactly one unit active, from a day
      before the scope
  role_change_checks(pair, change_no, status_agrees, status_at, status_active)
      a role change an HA message reported, with the first status report after it and whether
      that names the new active unit
  role_changes_in_scope(pair, time, change_no, new_active, old_active, kind, trigger,
                        prev_change, next_change, seen_in, monitor, monitor_cause, sync_state,
                        conn_before, vpn_before, conn_after, vpn_after, in_test_window,
                        window_start, window_end, kept_pct, vpn_kept_pct, unsynced)
      a role change from the scope's start (minus 2 h) with its context: cause, sync state,
      connections before and after, test window, unsynced or not
  recovery_wanted(asker, pair, after, until, level)
      a question: when did the pair's connections reach `level` after `after`?
  recovered(asker, pair, after, back_at)
      the answer to a recovery question; none when the load never came back
  load_detail(pair, t, conn, ref)
      a 5-minute bucket of a pair's load on the days a drop or recovery needs
  unsynced_failovers: the columns of role_changes_in_scope
      a role change that lost the sessions, outside test windows and split brains
  session_drops(pair, started_at, last_low, buckets, level_before, lowest)
      a run of low buckets long enough to be a drop
"""
