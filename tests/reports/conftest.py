"""A small policy set (alice in Berlin, bob in UTC, a P1 SLA) and times in March 2026."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

import policies
from policies import PolicySet

POLICIES = """
[[people]]
id = "alice"
name = "Alice"
time_zone = "Europe/Berlin"

[[people]]
id = "bob"
name = "Bob"
time_zone = "UTC"

[[sla]]
priority = "P1"
ack = "10m"
resolve = "2h"
"""


def ms(day: int, hour: int, minute: int = 0, month: int = 3) -> int:
    return int(datetime(2026, month, day, hour, minute, tzinfo=UTC).timestamp() * 1000)


@pytest.fixture
def ps(tmp_path: Path) -> PolicySet:
    (tmp_path / "main.toml").write_text(textwrap.dedent(POLICIES))
    return policies.load(tmp_path)
