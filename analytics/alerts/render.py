"""Rendering: subject, text and HTML of one notification, with each incident's runbook (the
likely causes and the checks in order, analytics/runbooks.py) unless it is a resolution.

Everything that came from logs (summaries, details, names) is data: the HTML template
autoescapes it (a `<script>` in a summary arrives as text), and the subject is one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hawatch.analytics.evidence_text import facts
from hawatch.analytics.runbooks import for_incident
from jinja2 import DictLoader, Environment, StrictUndefined

_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


@dataclass
class Item:
    """One incident as shown in a notification."""

    incident_id: int
    kind: str
    severity: str
    status: str
    opened_at: datetime
    resolved_at: datetime | None
    summary: str
    evidence: dict[str, Any]


@dataclass
class Notice:
    """What one e-mail says: its kind, the pair, the incidents, extra facts."""

    kind: str  # new | repeat | resolved | flapping_summary
    pair: str
    site: str
    zone: str
    items: list[Item]
    facts: list[tuple[str, str]] = field(default_factory=list)
    note: str = ""


def zone_of(name: str | None) -> tzinfo:
    name = (name or "UTC").strip()
    match = _OFFSET.match(name)
    if match:
        sign = -1 if match.group(1) == "-" else 1
        return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def both_times(at: datetime | None, zone: str) -> str:
    if at is None:
        return "-"
    utc = at.astimezone(UTC)
    local = at.astimezone(zone_of(zone))
    name = f"{local:%Z}"
    label = name if name == zone else f"{name} {zone}"  # "UTC", not "UTC UTC"
    return f"{utc:%Y-%m-%d %H:%M:%S} UTC ({local:%Y-%m-%d %H:%M:%S} {label})"


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def headline(notice: Notice) -> str:
    """`CRITICAL unsynced failover pair-12 (site)` and the like."""
    top = min(notice.items, key=lambda i: SEVERITY_ORDER.get(i.severity, 3))
    what = top.kind.replace("_", " ")
    if top.kind == "failover_test":
        what = "failover test " + ("passed" if top.evidence.get("survived") else "FAILED")
    more = f", +{len(notice.items) - 1} more" if len(notice.items) > 1 else ""
    label = {
        "resolved": "RESOLVED",
        "flapping_summary": "FLAPPING ENDED",
        "repeat": f"STILL {top.severity.upper()}",
    }.get(notice.kind, top.severity.upper())
    return one_line(f"{label} {what} {notice.pair} ({notice.site or 'no site'}){more}")


_TEXT = """\
{{ title }}

Pair: {{ n.pair }}  Site: {{ n.site or '-' }}
{% if n.note %}{{ n.note }}
{% endif %}
{% for i in items %}
* [{{ i.severity | upper }}] {{ i.kind }} #{{ i.incident_id }} ({{ i.status }}): {{ i.summary }}
  opened:   {{ i.opened }}
{% if i.resolved %}  resolved: {{ i.resolved }}
{% endif %}{% for label, value in i.figures %}  {{ label }}: {{ value }}
{% endfor %}
{% if i.runbook %}{% set rb = i.runbook %}
{% if rb.found %}  Cause in the logs: {{ rb.found }}
{% endif %}  Likely causes:
{% for cause in rb.causes %}    - {{ cause }}
{% endfor %}  Checks, in order:
{% for c in rb.checks %}    {{ c.n }}. {{ c.step }}
       {{ c.why }}
{% for src in c.sources %}       {{ src.url }}
{% endfor %}{% endfor %}{% endif %}

{% endfor %}
{% for label, value in n.facts %}{{ label }}: {{ value }}
{% endfor %}
Pair page: {{ link }}
"""

_HTML = """\
<!doctype html>
<html><body style="font-family: sans-serif">
<h2>{{ title }}</h2>
<p>Pair <b>{{ n.pair }}</b>, site {{ n.site or '-' }}</p>
{% if n.note %}<p>{{ n.note }}</p>{% endif %}
{% for i in items %}
<h3>[{{ i.severity | upper }}] {{ i.kind }} #{{ i.incident_id }} ({{ i.status }})</h3>
<p>{{ i.summary }}</p>
<table>
<tr><th align="left">opened</th><td>{{ i.opened }}</td></tr>
{% if i.resolved %}<tr><th align="left">resolved</th><td>{{ i.resolved }}</td></tr>{% endif %}
{% for label, value in i.figures %}<tr><th align="left">{{ label }}</th><td>{{ value }}</td></tr>
{% endfor %}</table>
{% if i.runbook %}{% set rb = i.runbook %}<div class="runbook">
{% if rb.found %}<p><b>Cause in the logs:</b> {{ rb.found }}</p>{% endif %}
<p><b>Likely causes</b></p><ul>{% for cause in rb.causes %}<li>{{ cause }}</li>{% endfor %}</ul>
<p><b>Checks, in order</b></p><ol>{% for c in rb.checks %}<li>{{ c.step }} <i>{{ c.why }}</i>
{% for src in c.sources %} [<a href="{{ src.url }}">{{ src.title }}</a>]{% endfor %}</li>
{% endfor %}</ol></div>{% endif %}
{% endfor %}
{% if n.facts %}<table>{% for label, value in n.facts %}
<tr><th align="left">{{ label }}</th><td>{{ value }}</td></tr>{% endfor %}</table>{% endif %}
<p><a href="{{ link }}">Pair page</a></p>
</body></html>
"""

_ENV = {
    "text": Environment(
        loader=DictLoader({"t": _TEXT}),
        autoescape=False,
        undefined=StrictUndefined,
        trim_blocks=True,
        keep_trailing_newline=True,
    ),
    "html": Environment(
        loader=DictLoader({"t": _HTML}),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
    ),
}


def pair_link(base_url: str, pair: str) -> str:
    return f"{base_url.rstrip('/')}/pairs/{quote(pair, safe='')}"


def render_notice(notice: Notice, base_url: str) -> tuple[str, str, str]:
    """(subject, text body, html body)."""
    title = headline(notice)
    items = [
        {
            "incident_id": i.incident_id,
            "kind": i.kind,
            "severity": i.severity,
            "status": i.status,
            "summary": i.summary,
            "opened": both_times(i.opened_at, notice.zone),
            "resolved": both_times(i.resolved_at, notice.zone) if i.resolved_at else "",
            # the evidence in words (analytics/evidence_text.py), times in both zones
            "figures": [
                (f.label, both_times(f.time, notice.zone) if f.time else f.text)
                for f in facts(i.evidence)
            ],
            # what to check (analytics/runbooks.py); a resolution needs no checks
            "runbook": None if notice.kind == "resolved" else for_incident(i.kind, i.evidence),
        }
        for i in sorted(
            notice.items, key=lambda i: (SEVERITY_ORDER.get(i.severity, 3), i.opened_at)
        )
    ]
    context = {
        "title": title,
        "n": notice,
        "items": items,
        "link": pair_link(base_url, notice.pair),
    }
    return (
        "[hawatch] " + title,
        _ENV["text"].get_template("t").render(context),
        _ENV["html"].get_template("t").render(context),
    )


def render_page(title: str, sections: list[tuple[str, list[str]]]) -> tuple[str, str]:
    """Text and HTML of a page of titled lists (digests, tests)."""
    text = "\n".join(
        [title, ""]
        + [
            f"{h}\n" + "\n".join(f"* {line}" for line in lines or ["none"]) + "\n"
            for h, lines in sections
        ]
    )
    html = _PAGE.render(title=title, sections=sections)
    return text, html


_PAGE = Environment(autoescape=True, trim_blocks=True).from_string(
    '<!doctype html>\n<html><body style="font-family: sans-serif"><h2>{{ title }}</h2>\n'
    "{% for h, lines in sections %}<h3>{{ h }}</h3><ul>\n"
    "{% for line in lines %}<li>{{ line }}</li>\n{% else %}<li>none</li>\n{% endfor %}"
    "</ul>\n{% endfor %}</body></html>\n"
)
