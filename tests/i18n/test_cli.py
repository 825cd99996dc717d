"""`sunrelay` in a subprocess speaks the language of --lang, SUNRELAY_LANG or the locale."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import policies

EXAMPLES = Path(policies.__file__).parent / "examples"


class Cli:
    def __init__(self, tmp: Path) -> None:
        base = {k: v for k, v in os.environ.items()
                if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG", "SUNRELAY_LANG")}
        self.env = {**base, "SUNRELAY_DB": str(tmp / "store.db"), "SUNRELAY_SITE": "JKT",
                    "SUNRELAY_USER": "ayu", "SUNRELAY_POLICIES": str(EXAMPLES),
                    "XDG_DATA_HOME": str(tmp)}

    def run(self, *args: str, code: int = 0, **env: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "console", *args], capture_output=True, text=True,
                              env={**self.env, **env}, timeout=60)
        assert done.returncode == code, done.stderr
        return done


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    made = Cli(tmp_path)
    made.run("trigger", "checkout 5xx", "--service", "checkout", "--severity", "sev1")
    return made


def test_lang_id_prints_indonesian_and_english_stays_the_default(cli: Cli) -> None:
    report = cli.run("--lang", "id", "report", "--since", "1d").stdout
    assert report.startswith("Laporan on-call, ") and "\nANGKA\n" in report and "semua" in report
    assert cli.run("report", "--since", "1d").stdout.startswith("On-call report, ")
    listed = cli.run("--lang=id", "list").stdout
    assert listed.splitlines()[0].startswith("KUNCI") and "JKT-1" in listed
    assert cli.run("--lang", "id", "ack", "JKT-1").stdout.strip() == "JKT-1 di-ack"


def test_the_locale_picks_the_language_and_errors_are_translated(cli: Cli) -> None:
    failed = cli.run("list", "--status", "bogus", code=1, LANG="id_ID.UTF-8")
    assert failed.stderr.strip() == "sunrelay: galat: --status harus open atau all, bukan 'bogus'"
    english = cli.run("list", "--status", "bogus", code=1, LANG="id_ID.UTF-8", LC_ALL="C.UTF-8")
    assert english.stderr.strip() == "sunrelay: error: --status must be open or all, not 'bogus'"
    assert "tidak ada handoff" in cli.run("handoff", "list", SUNRELAY_LANG="id", LANG="en_US.UTF-8").stdout


def test_help_is_translated_and_an_unknown_language_refused(cli: Cli) -> None:
    assert "Buka insiden, atau trigger ulang" in cli.run("--lang", "id", "--help").stdout
    assert "Seberapa jauh ke belakang" in cli.run("--lang", "id", "report", "--help").stdout
    refused = cli.run("--lang", "xx", "list", code=2)
    assert "'xx' is not one of: en, id" in refused.stderr


def test_durations_and_dates_read_naturally(cli: Cli) -> None:
    cli.run("ack", "JKT-1")
    post = cli.run("--lang", "id", "report", "incident", "JKT-1").stdout
    assert post.startswith("# Laporan pascainsiden: JKT-1 — checkout 5xx")
    assert "## Akar masalah" in post and re.search(r"\| Di-ack \| .* oleh ayu \(setelah \d+ detik\) \|", post)
    who = cli.run("--lang", "id", "who", "--at", "2026-12-06 03:00 Asia/Jakarta").stdout
    assert "follow-the-sun sre: region new-york" in who
    assert "Maria Garcia (Sab 15.00 America/New_York)" in who  # 'Sat 15:00' in English
    assert " (dalam " in who and " jam" in who


def test_json_stays_english_whatever_the_language(cli: Cli) -> None:
    cli.run("ack", "JKT-1")
    shown = json.loads(cli.run("--lang", "id", "show", "JKT-1", "--json").stdout)
    assert [entry["text"] for entry in shown["timeline"]][1] == "acknowledged"
    assert "di-ack" in cli.run("--lang", "id", "show", "JKT-1").stdout
