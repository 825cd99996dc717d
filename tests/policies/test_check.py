"""`check` and the loader: problems carry the right file, line and key path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import policies
from policies import PolicyError, PolicySet, check
from policies.timeutil import parse_instant

from .conftest import PEOPLE

NOW = parse_instant("2026-11-22 00:00 UTC")

SCHEDULES = """\
[[schedules]]
id = "day-only"
time_zone = "Europe/Berlin"

[[schedules.layers]]
rotation = "weekly"
start = 2026-01-05
members = ["alice", "bob"]
restrictions = [{ from = "08:00", to = "20:00" }]
"""

POLICY = """\
[[escalation_policies]]
id = "p"

[[escalation_policies.levels]]
targets = ["person:alice"]

[[escalation_policies.levels]]
targets = [
  "schedule:day-only",
  "schedule:nope",
]
"""


def _dir(tmp_path: Path, **files: str) -> Path:
    for name, body in files.items():
        (tmp_path / f"{name}.toml").write_text(textwrap.dedent(body))
    return tmp_path


def test_examples_are_clean(examples: PolicySet) -> None:
    assert check(examples, NOW, days=90) == []


def test_gap_and_unknown_reference_with_file_and_line(tmp_path: Path) -> None:
    d = _dir(tmp_path, people=PEOPLE, schedules=SCHEDULES, escalation=POLICY)
    problems = check(policies.load(d), NOW, days=30)
    esc = str(d / "escalation.toml")
    unknown = [p for p in problems if "unknown schedule 'nope'" in p.message]
    assert len(unknown) == 1
    assert (unknown[0].file, unknown[0].line, unknown[0].severity) == (esc, 10, "error")
    assert unknown[0].key_path == "escalation_policies[0].levels[1].targets[1]"
    level_gap = [p for p in problems if p.message.startswith("level 2 of 'p' pages nobody")]
    assert len(level_gap) == 1 and level_gap[0].severity == "error"
    assert (level_gap[0].file, level_gap[0].line) == (esc, 7)
    assert "2026-11-22 20:00 → 2026-11-23 08:00;" in level_gap[0].message
    assert "(local time Europe/Berlin; total 15d)" in level_gap[0].message
    sched_gap = [p for p in problems if "schedule 'day-only' resolves to nobody" in p.message]
    assert len(sched_gap) == 1 and sched_gap[0].severity == "warning"
    assert (sched_gap[0].file, sched_gap[0].line) == (str(d / "schedules.toml"), 1)
    assert not [p for p in problems if "level 1" in p.message]


def test_skip_empty_levels_turns_level_gaps_into_warnings(tmp_path: Path) -> None:
    body = POLICY.replace('id = "p"', 'id = "p"\nskip_empty_levels = true').replace(
        '  "schedule:nope",\n', "")
    d = _dir(tmp_path, people=PEOPLE, schedules=SCHEDULES, escalation=body)
    problems = check(policies.load(d), NOW, days=30)
    assert [p.severity for p in problems if "pages nobody" in p.message] == ["warning"]


def test_cycles_between_policies(tmp_path: Path) -> None:
    body = """\
    [[escalation_policies]]
    id = "a"
    levels = [{ targets = ["policy:b"] }]

    [[escalation_policies]]
    id = "b"
    levels = [{ targets = ["person:alice"] }, { targets = ["policy:a"] }]
    """
    d = _dir(tmp_path, people=PEOPLE, escalation=body)
    cycles = [p for p in check(policies.load(d), NOW, days=1) if "cycle" in p.message]
    assert len(cycles) == 1 and "a -> b -> a" in cycles[0].message
    assert cycles[0].line in (3, 7)


@pytest.mark.parametrize(
    "body,line,key,text",
    [
        ('[[people]]\nid = "x"\nname = "X"\ntime_zone = "Mars/Base"\n', 4, "people[0].time_zone",
         "unknown IANA time zone"),
        ('[[people]]\nid = "x"\nname = "X"\ntime_zone = "UTC"\nphone = "1"\n', 5,
         "people[0].phone", "unknown key"),
        ('[[escalation_policies]]\nid = "p"\n\n[[escalation_policies.levels]]\n'
         'targets = ["person:x"]\ndelay = "5 minutes"\n', 6,
         "escalation_policies[0].levels[0].delay", "bad duration"),
        ('[[people]]\nid = "x"\nname = "X"\n', 1, "people[0].time_zone", "Field required"),
        ('[[schedules]]\nid = "s"\ntime_zone = "UTC"\nlayers = [\n'
         '  { rotation = "daily", start = 2026-01-01, members = ["a"] },\n'
         '  { rotation = "yearly", start = 2026-01-01, members = ["a"] },\n]\n', 6,
         "schedules[0].layers[1].rotation", "Input should be"),
        ('[[people]]\nid = "x"\nname = "X\n', 3, "", "TOML syntax"),
    ],
)
def test_schema_errors_name_file_line_and_key(tmp_path: Path, body: str, line: int, key: str,
                                              text: str) -> None:
    (tmp_path / "bad.toml").write_text(body)
    with pytest.raises(PolicyError) as exc:
        policies.load(tmp_path)
    p = exc.value.problems[0]
    assert (p.file, p.line, p.key_path) == (str(tmp_path / "bad.toml"), line, key)
    assert text in p.message


def test_duplicates_across_files(tmp_path: Path) -> None:
    _dir(tmp_path, a=PEOPLE, b='[[people]]\nid = "bob"\nname = "Bob 2"\ntime_zone = "UTC"\n')
    with pytest.raises(PolicyError) as exc:
        policies.load(tmp_path)
    (p,) = exc.value.problems
    assert p.file.endswith("b.toml") and p.line == 2 and "duplicate people 'bob'" in p.message


def test_digest_ignores_layout_but_not_content(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    _dir(one, all=PEOPLE)
    people = PEOPLE.split("[[people]]")
    (two / "x.toml").write_text("[[people]]".join(people[:3]))
    (two / "y.toml").write_text("[[people]]" + "[[people]]".join(people[3:]))
    assert policies.load(one).digest == policies.load(two).digest
    (two / "y.toml").write_text((two / "y.toml").read_text().replace('"Dave"', '"David"'))
    assert policies.load(one).digest != policies.load(two).digest


def test_login_lookup(examples: PolicySet) -> None:
    assert examples.person_by_login("aschmidt") is examples.people["anna"]
    assert examples.person_by_login("maria") is examples.people["maria"]
    assert examples.person_by_login("nobody") is None
    assert examples.integration("r0ut1ng-k3y-payments-prod").service == "payments-api"  # type: ignore[union-attr]
