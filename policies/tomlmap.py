"""Key path -> line number for a TOML document.

`tomllib` gives values but no positions; errors must name the line a person
has to edit.  This scanner follows table headers, arrays of tables, dotted
keys, inline tables and one-element-per-line arrays: the shapes policy files
use.  Lookups fall back to the nearest enclosing key that has a line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

Key = tuple[str | int, ...]

_BARE = r"[A-Za-z0-9_\-]+"
_KEY = rf'(?:{_BARE}|"[^"]*"|\'[^\']*\')'
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_KEYLINE = re.compile(rf"^\s*({_DOTTED})\s*=\s*(.*)$")
_HEADER = re.compile(rf"^\s*(\[\[?)\s*({_DOTTED})\s*\]\]?\s*$")
_INNER_KEY = re.compile(rf"(?:^|[{{,])\s*({_BARE})\s*=")


def _split(dotted: str) -> list[str]:
    return [p.strip().strip("\"'") for p in re.findall(_KEY, dotted)]


def _code(line: str) -> str:
    """The line without a trailing comment (a '#' outside strings)."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return line[:i]
    return line


def _scan(text: str, base: int) -> tuple[int, int]:
    """Bracket depth change of a code fragment and its commas at array depth 1
    (counted from `base`), ignoring strings."""
    depth = base
    quote = ""
    commas = 0
    for ch in text:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 1:
            commas += 1
    return depth - base, commas


def line_map(text: str) -> dict[Key, int]:
    out: dict[Key, int] = {}
    table: Key = ()
    aot: dict[Key, int] = {}  # array-of-tables path -> current index
    in_string = ""
    array_path: Key | None = None
    array_depth = 0
    array_index = 0

    def put(key: Key, line: int) -> None:
        out.setdefault(key, line)

    def resolve(parts: Sequence[str]) -> Key:
        path: list[str | int] = []
        for p in parts:
            path.append(p)
            idx = aot.get(tuple(path))
            if idx is not None:
                path.append(idx)
        return tuple(path)

    for lineno, raw in enumerate(text.splitlines(), 1):
        if in_string:
            if raw.count(in_string) % 2 == 1:
                in_string = ""
            continue
        code = _code(raw).rstrip()
        if not code.strip():
            continue
        if array_path is not None:
            stripped = code.strip()
            if not stripped.startswith("]"):
                put((*array_path, array_index), lineno)
                for m in _INNER_KEY.finditer(stripped):
                    put((*array_path, array_index, m.group(1)), lineno)
            delta, commas = _scan(code, array_depth)
            array_index += commas
            array_depth += delta
            if array_depth <= 0:
                array_path = None
            continue
        h = _HEADER.match(code)
        if h:
            parts = _split(h.group(2))
            if h.group(1) == "[[":
                parent = resolve(parts[:-1])
                key = (*parent, parts[-1])
                aot[key] = aot.get(key, -1) + 1
                table = (*key, aot[key])
            else:
                table = resolve(parts)
            put(table, lineno)
            continue
        km = _KEYLINE.match(code)
        if not km:
            continue
        parts = _split(km.group(1))
        for i in range(1, len(parts) + 1):
            put((*table, *parts[:i]), lineno)
        path: Key = (*table, *parts)
        value = km.group(2)
        for delim in ('"""', "'''"):
            if value.count(delim) % 2 == 1:
                in_string = delim
        if value.startswith("{"):
            for im in _INNER_KEY.finditer(value):
                put((*path, im.group(1)), lineno)
        elif value.startswith("["):
            depth = _scan(value, 0)[0]
            if depth > 0:
                array_path, array_depth, array_index = path, depth, 0
                rest = value[1:].strip()
                if rest:
                    put((*path, 0), lineno)
                    array_index = _scan(value, 0)[1]
            else:
                for i in range(_scan(value, 0)[1] + 1):
                    put((*path, i), lineno)
    return out


def locate(lines: dict[Key, int], path: Sequence[str | int]) -> int | None:
    """The line of the deepest prefix of `path` that has one."""
    p = tuple(path)
    while p:
        got = lines.get(p)
        if got is not None:
            return got
        p = p[:-1]
    return None
