"""The writer thread: group transactions for ingest, and turns for the process's other writers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from console.ingest.commit import GroupCommitter
from console.store.store import Store, Writes


async def test_a_call_runs_alone_on_the_writer_thread_between_group_transactions(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}", site_name="JKT")
    committer = GroupCommitter(store)
    seen: list[tuple[str, int]] = []

    def ingest(tag: str) -> Coroutine[Any, Any, str]:
        def work(w: Writes) -> str:
            seen.append((tag, committer.batches))
            return tag
        return committer.submit(work)

    def engine_turn() -> str:
        seen.append(("turn", committer.batches))
        with store.writing() as w:  # its own transaction: none of the group's is open
            w.conn.execute(text("SELECT 1"))
        return threading.current_thread().name

    def failing() -> None:
        raise ValueError("refused")

    # Queued before the writer starts: two requests, a turn, a failing turn, a request.
    tasks = [asyncio.ensure_future(job) for job in (
        ingest("a"), ingest("b"), committer.call(engine_turn), committer.call(failing), ingest("c"))]
    await asyncio.sleep(0)
    committer.start()
    try:
        a, b, thread = await asyncio.gather(*tasks[:3])
        with pytest.raises(ValueError, match="refused"):
            await tasks[3]
        assert await tasks[4] == "c"
    finally:
        committer.close()
        store.close()
    assert (a, b, thread) == ("a", "b", "sunrelay-group-commit")
    assert seen == [("a", 0), ("b", 0), ("turn", 1), ("c", 1)]
    assert committer.batches == 2 and committer.items == 3
