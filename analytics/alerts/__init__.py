"""Alerting: incidents -> e-mails, in stages, each in a module named for what it does:

    grouping (due per pair, acknowledgements) -> rules (silences, windows, flapping, routes)
    -> render -> outbox (recorded before any send) -> smtp (retry with backoff)

assembled in `pipeline` (`run_alert_cycle`, what `hawatch serve` runs every minute); `digest`
is the daily summary, `operator` the acknowledgements, silences and windows operators declare,
`settings` the alerts.* and smtp.* settings.

Import from the modules: this file re-exports nothing, so that importing one stage never runs
the pipeline's imports (pipeline imports its stages; a package that re-exported the pipeline
made every stage's import a circle through it).
"""
