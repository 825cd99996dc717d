"""Sorted, disjoint half-open intervals over POSIX seconds.

Schedules and calendars are computed as interval sets of floats: far cheaper
than datetimes in the inner loops, and exact for whole-second instants.
"""

from __future__ import annotations

from collections.abc import Iterable

Span = tuple[float, float]


def normalize(spans: Iterable[Span]) -> list[Span]:
    """Sort, drop empty spans and merge the touching or overlapping ones."""
    out: list[Span] = []
    for s, e in sorted(x for x in spans if x[1] > x[0]):
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def intersect(a: list[Span], b: list[Span]) -> list[Span]:
    """Intersection of two normalized span lists."""
    out: list[Span] = []
    i = j = 0
    while i < len(a) and j < len(b):
        s = max(a[i][0], b[j][0])
        e = min(a[i][1], b[j][1])
        if s < e:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(a: list[Span], b: list[Span]) -> list[Span]:
    """Parts of `a` not covered by `b` (both normalized)."""
    out: list[Span] = []
    j = 0
    for s, e in a:
        cur = s
        while j < len(b) and b[j][1] <= cur:
            j += 1
        k = j
        while k < len(b) and b[k][0] < e:
            if b[k][0] > cur:
                out.append((cur, b[k][0]))
            cur = max(cur, b[k][1])
            if cur >= e:
                break
            k += 1
        if cur < e:
            out.append((cur, e))
    return out


def complement(a: list[Span], start: float, end: float) -> list[Span]:
    """The gaps of `a` inside [start, end)."""
    return subtract([(start, end)], a) if end > start else []


def total(a: Iterable[Span]) -> float:
    return sum(e - s for s, e in a)
