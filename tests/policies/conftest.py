from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

import policies
from policies import PolicySet

EXAMPLES = Path(policies.__file__).parent / "examples"


@pytest.fixture(scope="session")
def examples() -> PolicySet:
    return policies.load(EXAMPLES)


@pytest.fixture
def make_ps(tmp_path: Path) -> Callable[..., PolicySet]:
    """Write TOML text(s) into a fresh directory and load it."""

    def make(text: str = "", **files: str) -> PolicySet:
        d = tmp_path / f"ps{len(list(tmp_path.iterdir()))}"
        d.mkdir()
        if text:
            (d / "main.toml").write_text(textwrap.dedent(text))
        for name, body in files.items():
            (d / f"{name}.toml").write_text(textwrap.dedent(body))
        return policies.load(d)

    return make


PEOPLE = """
[[people]]
id = "alice"
name = "Alice"
time_zone = "Europe/Berlin"
contacts = { email = "alice@example.org" }

[[people]]
id = "bob"
name = "Bob"
time_zone = "Europe/Berlin"

[[people]]
id = "carol"
name = "Carol"
time_zone = "America/New_York"

[[people]]
id = "dave"
name = "Dave"
time_zone = "America/New_York"
"""
