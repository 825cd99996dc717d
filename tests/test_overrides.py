"""Overrides as ops: recorded, folded from the op log (incrementally), cancelled, synced,
and used by the engine when it decides whom to page."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import policies
from console.engine.cycle import Engine
from console.overrides import OverrideError, OverrideLog, cancel, take
from console.store.store import Store
from policies import on_call

EXAMPLES = Path(policies.__file__).parent / "examples"
NOW = datetime(2026, 3, 10, 3, 10, tzinfo=UTC)  # budi holds sre-jakarta that week


@pytest.fixture(scope="module")
def ps() -> policies.PolicySet:
    return policies.load(EXAMPLES)


def store_at(path: Path, name: str = "JKT") -> Store:
    return Store.open(f"sqlite:///{path}", site_name=name,
                      physical=lambda: int(NOW.timestamp() * 1000))


def test_take_fold_cancel(tmp_path: Path, ps: policies.PolicySet) -> None:
    with store_at(tmp_path / "a.db") as store:
        log = OverrideLog(store.engine)
        assert log() == ()
        sched = ps.schedules["sre-jakarta"]
        assert on_call(sched, NOW) == ("budi",)
        made = take(store, ps, "citra", "sre-jakarta", NOW, NOW + timedelta(hours=2), "citra")
        shifts = log()
        assert [s.user for s in shifts] == ["citra"]
        assert on_call(sched, NOW, shifts) == ("citra",)
        assert on_call(sched, NOW + timedelta(hours=2), shifts) == ("budi",)
        assert log.active[0].by == "citra" and log.active[0].id == made.id
        cancel(store, log, "citra", made.id[-8:])
        assert log() == ()
        with pytest.raises(OverrideError, match="no schedule"):
            take(store, ps, "citra", "nope", NOW, NOW + timedelta(hours=1), "citra")
        with pytest.raises(OverrideError, match="before it starts"):
            take(store, ps, "citra", "sre-jakarta", NOW, NOW, "citra")
        with pytest.raises(OverrideError, match="matches 0"):
            cancel(store, log, "citra", made.id)


def test_overrides_sync_like_any_op(tmp_path: Path, ps: policies.PolicySet) -> None:
    """A peer that receives the take (and later the cancel) folds it the same way,
    whichever order they arrive in."""
    with store_at(tmp_path / "a.db") as a, store_at(tmp_path / "b.db", "BER") as b:
        made = take(a, ps, "citra", "sre-jakarta", NOW, NOW + timedelta(hours=2), "citra", "budi")
        log_a = OverrideLog(a.engine)
        cancel(a, log_a, "citra", made.id)
        ops, _ = a.ops_after({}, 100, 1 << 20)
        log_b = OverrideLog(b.engine)
        b.receive(ops[:1])
        assert [(s.user, s.replaces) for s in log_b()] == [("citra", "budi")]
        assert log_b.active[0].site == a.site.site
        b.receive(ops[1:])
        assert log_b() == ()


def test_the_engine_pages_whoever_took_the_shift(tmp_path: Path, ps: policies.PolicySet) -> None:
    with store_at(tmp_path / "a.db") as store:
        take(store, ps, "citra", "sre-jakarta", NOW - timedelta(minutes=5), NOW + timedelta(hours=2),
             "citra")
        store.trigger("alertmanager", title="5xx above 2%", service="api-gateway", severity="sev2",
                      priority="P2", team="sre", policy="sre")
        engine = Engine(store, lambda: ps, overrides=OverrideLog(store.engine))
        engine.tick(NOW)
        pages = [op.payload["pages"] for op in store.timeline(store.get("JKT-1").id)
                 if op.kind == "escalate"]
        assert pages and {person for person, _ in pages[0]} == {"citra"}


def test_cli_override_list_cancel(tmp_path: Path) -> None:
    env = {"SUNRELAY_DB": str(tmp_path / "c.db"), "SUNRELAY_SITE": "JKT",
           "SUNRELAY_POLICIES": str(EXAMPLES), "PATH": "/usr/bin:/bin"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "console", "oncall", *args],
                              env=env, capture_output=True, text=True, timeout=60)

    made = run("override", "--schedule", "sre-jakarta", "--start", "2030-03-10 09:00 Asia/Jakarta",
               "--end", "2030-03-10 21:00 Asia/Jakarta", "--as", "citra")
    assert made.returncode == 0, made.stderr
    assert "citra on call for sre-jakarta 2030-03-10 02:00Z – 2030-03-10 14:00Z" in made.stdout
    ref = made.stdout.split()[1].rstrip(":")
    listed = run("list")
    assert ref in listed.stdout and "sre-jakarta" in listed.stdout
    assert run("cancel", ref, "--as", "citra").returncode == 0
    assert "no overrides" in run("list").stdout
    bad = run("override", "--schedule", "nope", "--start", "2030-03-10 09:00 UTC", "--end",
              "2030-03-10 10:00 UTC", "--as", "citra")
    assert bad.returncode == 1 and "no schedule 'nope'" in bad.stderr


def test_who_names_whoever_took_the_shift(tmp_path: Path) -> None:
    """`sunrelay who` answers as the engine pages: with the overrides recorded in the store,
    and without making a store where there is none."""
    db = tmp_path / "w.db"
    env = {"SUNRELAY_DB": str(db), "SUNRELAY_SITE": "JKT", "SUNRELAY_POLICIES": str(EXAMPLES),
           "PATH": "/usr/bin:/bin"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "console", *args],
                              env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done

    who = ("who", "--at", "2030-03-11 10:00 Asia/Jakarta", "--schedule", "sre-jakarta")
    assert "now:  Ayu Lestari" in run(*who).stdout
    assert not db.exists()
    run("oncall", "override", "--schedule", "sre-jakarta", "--start", "2030-03-11 09:00 Asia/Jakarta",
        "--end", "2030-03-11 12:00 Asia/Jakarta", "--person", "budi", "--as", "citra")
    answer = run(*who).stdout
    assert "now:  Budi" in answer and "next: Ayu Lestari" in answer
