"""Routes: recipients by site and severity (`alerts.routes`), first match wins, then
`alerts.to`. Format: `site=berlin&severity=critical: a@x, b@x; site=lab: c@x`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hawatch.store.errors import HawatchError


@dataclass(frozen=True)
class Route:
    matchers: dict[str, str]
    recipients: list[str]

    def matches(self, facts: dict[str, str]) -> bool:
        return all(v == "*" or facts.get(k) == v for k, v in self.matchers.items())


def addresses(text: str) -> list[str]:
    return [a.strip() for a in text.split(",") if a.strip()]


def parse_routes(text: str) -> list[Route]:
    routes = []
    for rule in filter(None, (r.strip() for r in text.split(";"))):
        head, sep, tail = rule.partition(":")
        if not sep or not addresses(tail):
            raise HawatchError(f"alerts.routes: {rule!r} is not `MATCHERS: ADDRESSES`")
        matchers = {}
        for part in filter(None, (p.strip() for p in head.split("&"))):
            key, eq, value = part.partition("=")
            if not eq or key.strip() not in ("site", "severity"):
                raise HawatchError(f"alerts.routes: {part!r} is not site=NAME or severity=LEVEL")
            matchers[key.strip()] = value.strip()
        routes.append(Route(matchers, addresses(tail)))
    return routes


def recipients(settings: Mapping[str, Any], site: str | None, severity: str) -> list[str]:
    facts = {"site": site or "", "severity": severity}
    for route in parse_routes(str(settings["alerts.routes"])):
        if route.matches(facts):
            return route.recipients
    return addresses(str(settings["alerts.to"]))
