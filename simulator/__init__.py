"""The fleet simulator behind `hawatch simulate`: realistic SonicOS syslog, API-style exports,
an inventory, declared maintenance windows and truth.json (the incidents it injected)."""

from hawatch.simulator.run import simulate

__all__ = ["simulate"]
