"""Hot reload against a real directory: a broken edit keeps the last good set."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from policies import ReloadResult, watch

from .conftest import PEOPLE

WAIT = 15.0  # bound on how long the watcher may take to notice a change


@pytest.fixture
def watcher(tmp_path: Path) -> Iterator[tuple[Path, queue.Queue[ReloadResult]]]:
    (tmp_path / "people.toml").write_text(PEOPLE)
    results: queue.Queue[ReloadResult] = queue.Queue()
    stop = threading.Event()

    def pump() -> None:
        for res in watch(tmp_path, stop_event=stop, debounce_ms=50):
            results.put(res)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    try:
        yield tmp_path, results
    finally:
        stop.set()
        thread.join(timeout=WAIT)


def _next(q: queue.Queue[ReloadResult]) -> ReloadResult:
    return q.get(timeout=WAIT)


def test_reload_keeps_last_good_set_on_a_broken_file(
    watcher: tuple[Path, queue.Queue[ReloadResult]],
) -> None:
    d, q = watcher
    first = _next(q)
    assert first.ok and first.in_force is first.policy_set
    assert set(first.in_force.people) == {"alice", "bob", "carol", "dave"}  # type: ignore[union-attr]
    good = first.in_force

    # A schema error: rejected, problems name the file and line, the old set stays in force.
    (d / "teams.toml").write_text('[[teams]]\nid = "t"\nmembers = ["alice"]\nlead = 42\n')
    broken = _next(q)
    assert not broken.ok and broken.in_force is good
    assert broken.problems[0].file.endswith("teams.toml") and broken.problems[0].line == 4

    # An unknown reference is also a broken edit.
    (d / "teams.toml").write_text('[[teams]]\nid = "t"\nmembers = ["zoe"]\n')
    broken = _next(q)
    assert not broken.ok and broken.in_force is good
    assert "unknown person 'zoe'" in broken.problems[0].message

    # Fixing it yields the new set, which is now in force.
    (d / "teams.toml").write_text('[[teams]]\nid = "t"\nmembers = ["alice"]\nlead = "alice"\n')
    fixed = _next(q)
    assert fixed.ok and fixed.in_force is fixed.policy_set
    assert fixed.in_force is not None and "t" in fixed.in_force.teams
    assert fixed.in_force.digest != good.digest  # type: ignore[union-attr]
    assert any(p.endswith("teams.toml") for p in fixed.changed)


def test_awatch_yields_initial_then_change(tmp_path: Path) -> None:
    import asyncio

    from policies import awatch

    (tmp_path / "people.toml").write_text(PEOPLE)

    async def scenario() -> tuple[ReloadResult, ReloadResult]:
        stop = threading.Event()
        gen = awatch(tmp_path, stop_event=stop, debounce_ms=50)
        first = await asyncio.wait_for(gen.__anext__(), WAIT)
        (tmp_path / "people.toml").write_text("[[people]\n")
        second = await asyncio.wait_for(gen.__anext__(), WAIT)
        stop.set()
        await gen.aclose()
        return first, second

    first, second = asyncio.run(scenario())
    assert first.ok and not second.ok and second.in_force is first.policy_set
    assert second.problems[0].line == 1 and "TOML syntax" in second.problems[0].message
