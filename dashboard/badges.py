"""The one markup of a severity or health word: `<span class="sev sev-critical">critical</span>`.

The word is always printed and the stylesheet (static/hawatch.css) puts a shape before it,
so colour never carries the meaning alone (colour-blind readers, grey-scale print-outs, a
wall screen seen at an angle). The templates' `severity_badge` and `health_badge` macros
and the fleet's rows in Python call this, so every page draws a severity alike.
"""

from __future__ import annotations

from markupsafe import Markup, escape

WORDS = ("critical", "warning", "stale", "ok", "info")


def badge(word: str | None) -> Markup:
    """A badge for `word`; an unknown or missing word is drawn as `unknown` (grey) but the
    text itself is kept, escaped."""
    known = word if word in WORDS else "unknown"
    return Markup(f'<span class="sev sev-{known}">{escape(word or "unknown")}</span>')
