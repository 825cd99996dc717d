"""Problems found in a policy set: where (file, line, key path) and what."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .i18n import _

Path_ = tuple[str | int, ...]


def format_path(path: Sequence[str | int]) -> str:
    """('schedules', 0, 'layers', 1, 'handoff') -> 'schedules[0].layers[1].handoff'."""
    out = ""
    for el in path:
        if isinstance(el, int):
            out += f"[{el}]"
        else:
            out += ("." if out else "") + el
    return out


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int | None
    key_path: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        severity = _("error") if self.severity == "error" else _("warning")
        key = f" {self.key_path}:" if self.key_path else ""
        return f"{where}: {severity}:{key} {self.message}"


class PolicyError(Exception):
    """A policy directory that cannot be loaded; `problems` says where and why."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        text = str(self.problems[0]) if self.problems else _("invalid policies")
        if len(self.problems) > 1:
            text = _("{problem} (+{more} more)").format(problem=text, more=len(self.problems) - 1)
        super().__init__(text)
