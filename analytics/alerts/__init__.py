"""Alerting: incidents -> e-mails, in stages (grouping, rules, routing, silences, render,
outbox, smtp), assembled in `pipeline`."""

from hawatch.analytics.alerts.digest import send_digest
from hawatch.analytics.alerts.pipeline import deliver_pending, evaluate, run_alert_cycle, send_test
from hawatch.analytics.alerts.settings import ALERT_SETTINGS

__all__ = ["ALERT_SETTINGS", "deliver_pending", "evaluate", "run_alert_cycle", "send_digest",
           "send_test"]
