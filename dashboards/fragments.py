"""Pieces of the dashboards rendered once and then served from memory until what they show
changes.

Everyone with a dashboard open polls it every 30 seconds, and between two recomputes the bars
and the leaderboard come out the same each time; rendering them is most of a page's work. A
fragment is kept under a digest of its template's source and of ``shown``: every value the
fragment displays, built by the view from the same rows it renders (``Progress.shown`` for a
bar). A hit is therefore by construction the HTML a fresh render would give: new numbers, a
status or pace marker that moved with the clock, a renamed rule or an edited template all make
a new key, and keys nobody asks for any more drop out of the least-recently-used memo. What
changes by the second ("updated 12 seconds ago", the time left) is rendered around the
fragments, never inside them.

``shown`` carries the ids of the goal, members and rules a fragment shows, so an entry is only
ever served where the page would render the very same HTML; permissions are checked by the view
before a fragment is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.template.loader import get_template, render_to_string
from django.urls import get_script_prefix
from django.utils.safestring import SafeString

from .panels import Memo, digest

FRAGMENTS = Memo(size=1024, seconds=None)  # a key names its content: it never goes stale


@dataclass(frozen=True)
class Fragment:
    template: str  # self-contained: no include, so its source is all of its markup
    context: dict[str, Any]
    shown: tuple[Any, ...]  # every value the template displays, as plain values


def render_fragment(fragment: Fragment) -> SafeString:
    source = get_template(fragment.template).template.source
    # The script prefix too: the links in it are reversed under it.
    key = digest(source, get_script_prefix(), repr(fragment.shown))
    html = FRAGMENTS.get(key)
    if html is None:
        html = render_to_string(fragment.template, fragment.context)
        FRAGMENTS.set(key, html)
    return html
