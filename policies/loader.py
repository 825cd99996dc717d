"""Read a policy directory: parse TOML, validate, merge, or report every problem."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from .i18n import _, ngettext
from .models import PolicyFile
from .policyset import Origin, PolicySet
from .problems import PolicyError, Problem, format_path
from .tomlmap import Key, line_map, locate

_TOML_LINE = re.compile(r"at line (\d+)")


def _clean_loc(data: Any, loc: tuple[Any, ...], missing: bool) -> list[str | int]:
    """Keep the loc elements that index the document; drop pydantic's union tags."""
    out: list[str | int] = []
    cur = data
    for i, el in enumerate(loc):
        in_dict = isinstance(cur, dict) and isinstance(el, str) and el in cur
        in_list = isinstance(cur, list) and isinstance(el, int) and 0 <= el < len(cur)
        if in_dict or in_list:
            out.append(el)
            cur = cur[el]
        elif missing and i == len(loc) - 1 and isinstance(el, str):
            out.append(el)
    return out


def _message(err: ErrorDetails) -> str:
    """What a validation error says, translated: our validators' own ValueError texts (translated
    when raised), else pydantic's message for the kinds a policy file runs into, else pydantic's
    English message."""
    kind, ctx = err["type"], err.get("ctx", {})
    if kind in ("value_error", "assertion_error"):
        return str(ctx["error"])
    if kind == "too_short":
        return ngettext("{field_type} should have at least {min_length} item after validation, "
                        "not {actual_length}",
                        "{field_type} should have at least {min_length} items after validation, "
                        "not {actual_length}", ctx["min_length"]).format(**ctx)
    if kind == "string_too_short":
        return ngettext("String should have at least {min_length} character",
                        "String should have at least {min_length} characters",
                        ctx["min_length"]).format(**ctx)
    template = {
        "extra_forbidden": _("unknown key"),
        "missing": _("Field required"),
        "string_type": _("Input should be a valid string"),
        "int_type": _("Input should be a valid integer"),
        "int_parsing": _("Input should be a valid integer, unable to parse string as an integer"),
        "int_from_float": _("Input should be a valid integer, got a number with a fractional part"),
        "float_type": _("Input should be a valid number"),
        "float_parsing": _("Input should be a valid number, unable to parse string as a number"),
        "bool_type": _("Input should be a valid boolean"),
        "bool_parsing": _("Input should be a valid boolean, unable to interpret input"),
        "list_type": _("Input should be a valid list"),
        "dict_type": _("Input should be a valid dictionary"),
        "model_type": _("Input should be a valid dictionary or instance of {class_name}"),
        "literal_error": _("Input should be {expected}"),
        "greater_than": _("Input should be greater than {gt}"),
        "greater_than_equal": _("Input should be greater than or equal to {ge}"),
        "less_than": _("Input should be less than {lt}"),
        "less_than_equal": _("Input should be less than or equal to {le}"),
        "date_type": _("Input should be a valid date"),
        "date_parsing": _("Input should be a valid date in the format YYYY-MM-DD, {error}"),
        "datetime_type": _("Input should be a valid datetime"),
        "datetime_parsing": _("Input should be a valid datetime, {error}"),
        "time_type": _("Input should be a valid time"),
        "time_parsing": _("Input should be in a valid time format, {error}"),
    }.get(kind)
    return err["msg"] if template is None else template.format(**ctx)


def parse_file(path: Path, display: str) -> tuple[PolicyFile | None, dict[Key, int], list[Problem]]:
    """Parse and validate one file; problems carry its display name and line numbers."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, {}, [Problem(display, None, "", _("cannot read: {error}").format(error=exc))]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_LINE.search(str(exc))
        line = int(m.group(1)) if m else None
        return None, {}, [Problem(display, line, "", _("TOML syntax: {error}").format(error=exc))]
    lines = line_map(text)
    try:
        return PolicyFile.model_validate(data), lines, []
    except ValidationError as exc:
        problems: list[Problem] = []
        seen: dict[str, int] = {}
        for err in exc.errors():
            path_ = _clean_loc(data, tuple(err["loc"]), err["type"] == "missing")
            key = format_path(path_)
            msg = _message(err)
            if key in seen:  # one report per key: join union branches
                i = seen[key]
                old = problems[i]
                if msg not in old.message:
                    problems[i] = Problem(old.file, old.line, key,
                                          _("{message}; or {other}").format(message=old.message, other=msg))
                continue
            seen[key] = len(problems)
            problems.append(Problem(display, locate(lines, path_), key, msg))
        return None, lines, problems


def policy_files(directory: Path) -> list[Path]:
    """The TOML files of a policy directory, in name order (that is the merge order)."""
    return sorted(p for p in directory.rglob("*.toml") if p.is_file())


def load(directory: Path | str) -> PolicySet:
    """Load a policy directory or raise PolicyError listing every problem found."""
    root = Path(directory)
    if not root.is_dir():
        raise PolicyError([Problem(str(root), None, "", _("not a policy directory"))])
    files = policy_files(root)
    if not files:
        raise PolicyError([Problem(str(root), None, "", _("no *.toml files"))])
    ps = PolicySet(source_dir=str(root))
    problems: list[Problem] = []
    for f in files:
        display = str(f)
        doc, lines, probs = parse_file(f, display)
        problems.extend(probs)
        if doc is None:
            continue
        ps.line_maps[display] = lines
        problems.extend(_merge(ps, doc, display, lines))
    if problems:
        raise PolicyError(problems)
    ps.reindex()
    return ps


def _merge(ps: PolicySet, doc: PolicyFile, file: str, lines: dict[Key, int]) -> list[Problem]:
    problems: list[Problem] = []

    def add(kind: str, ident: str, index: int, store: dict[str, Any], obj: Any, key: str) -> None:
        path: Key = (kind, index)
        if ident in store:
            first = ps.origins.get((kind, ident))
            if first is None:
                message = _("duplicate {table} {id!r}").format(table=kind, id=ident)
            else:
                message = _("duplicate {table} {id!r} (first in {file}:{line})").format(
                    table=kind, id=ident, file=first.file,
                    line=locate(ps.line_maps.get(first.file, {}), first.path))
            problems.append(Problem(file, locate(lines, (*path, key)), format_path((*path, key)), message))
            return
        store[ident] = obj
        ps.origins[(kind, ident)] = Origin(file, path)

    for i, p in enumerate(doc.people):
        add("people", p.id, i, ps.people, p, "id")
    for i, t in enumerate(doc.teams):
        add("teams", t.id, i, ps.teams, t, "id")
    for i, s in enumerate(doc.schedules):
        add("schedules", s.id, i, ps.schedules, s, "id")
    for i, g in enumerate(doc.follow_the_sun):
        add("follow_the_sun", g.id, i, ps.follow_the_sun, g, "id")
    for i, e in enumerate(doc.escalation_policies):
        add("escalation_policies", e.id, i, ps.escalation_policies, e, "id")
    for i, c in enumerate(doc.calendars):
        add("calendars", c.id, i, ps.calendars, c, "id")
    for i, m in enumerate(doc.maintenance):
        add("maintenance", m.id, i, ps.maintenance, m, "id")
    for i, g2 in enumerate(doc.integrations):
        add("integrations", g2.key, i, ps.integrations, g2, "key")
    for i, t2 in enumerate(doc.sla):
        add("sla", t2.priority, i, ps.sla, t2, "priority")
    for i, sh in enumerate(doc.stakeholders):
        add("stakeholders", sh.id, i, ps.stakeholders, sh, "id")
    for i, h in enumerate(doc.handoffs):
        add("handoffs", h.group, i, ps.handoffs, h, "group")
    for i, r in enumerate(doc.routes):
        ps.origins[("routes", str(len(ps.routes)))] = Origin(file, ("routes", i))
        ps.routes.append(r)
    if doc.priority_matrix is not None:
        if ps.priority_matrix is not None:
            problems.append(_twice(file, lines, "priority_matrix"))
        else:
            ps.priority_matrix = doc.priority_matrix
            ps.origins[("priority_matrix", "")] = Origin(file, ("priority_matrix",))
    if doc.defaults is not None:
        if ("defaults", "") in ps.origins:
            problems.append(_twice(file, lines, "defaults"))
        else:
            ps.defaults = doc.defaults
            ps.origins[("defaults", "")] = Origin(file, ("defaults",))
    return problems


def _twice(file: str, lines: dict[Key, int], table: str) -> Problem:
    return Problem(file, locate(lines, (table,)), table,
                   _("{table} defined in more than one file").format(table=table))
