"""Fuzzy matching for the palette search and quick-add (pure Python, no Qt).

A query matches when its letters appear in order in the candidate; the score prefers
matches at word starts and consecutive runs, like the command palettes people know.
"""

from __future__ import annotations


def score(query: str, text: str) -> float | None:
    """Higher is better; None when ``query`` does not match ``text``."""
    q = query.lower().strip()
    if not q:
        return 0.0
    t = text.lower()
    if q in t:
        i = t.find(q)
        return 100.0 - i + (20.0 if i == 0 or not t[i - 1].isalnum() else 0.0)
    total, ti, run = 0.0, 0, 0
    for ch in q:
        if ch == " ":
            continue
        found = t.find(ch, ti)
        if found < 0:
            return None
        run = run + 1 if found == ti else 0
        start = found == 0 or not t[found - 1].isalnum()
        total += 1.0 + run * 2.0 + (5.0 if start else 0.0) - min(found - ti, 10) * 0.2
        ti = found + 1
    return total


def rank(query: str, items: list[tuple[str, str]]) -> list[str]:
    """Keys of ``items`` ((key, searchable text) pairs) that match, best first."""
    scored = []
    for key, text in items:
        s = score(query, text)
        if s is not None:
            scored.append((-s, text, key))
    scored.sort()
    return [k for _, _, k in scored]
