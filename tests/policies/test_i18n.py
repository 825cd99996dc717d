"""The policy package's own catalogs (domain sunrelay_policies) against its source, and its
messages in the language the console chose: in-process and through `sunrelay --lang id`.

Extraction runs as docs/policies.md's cycle does, so a message wrapped anywhere in
policies/ fails here until it is in both catalogs and translated into Indonesian.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog

import policies
from console import i18n as console_i18n
from policies import i18n
from policies.simulate import render
from tests.catalogs import ROOT, extract, missing, mo_is_fresh, not_ready, read_catalog, wanted

from .conftest import EXAMPLES

LANGUAGES = ("en", "id")
# A schema error (a required key missing, an unknown key) and, once that is fixed, a reference error.
BROKEN = '[[people]]\nid = "x"\nname = "X"\nphone = "1"\n'
DANGLING = '[[people]]\nid = "x"\nname = "X"\ntime_zone = "Asia/Jakarta"\n\n' \
           '[[teams]]\nid = "t"\nmembers = ["zoe"]\n'


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return extract(ROOT / "policies", "_", tmp_path_factory.mktemp("i18n") / "sunrelay_policies.pot")


@pytest.fixture
def lang() -> Iterator[None]:
    """Tests choose the language as the console does (which tells the policy package);
    the process's choice is put back for the tests after them."""
    before = console_i18n.language()
    yield
    console_i18n.select(before)


def catalog(lang: str) -> Catalog:
    return read_catalog(i18n.LOCALE_DIR, i18n.DOMAIN, lang)


def test_extraction_finds_the_policy_messages(extracted: Catalog) -> None:
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in wanted(extracted)}
    assert {"unknown key", "unknown person {name!r}", "outcome: resolved", "error"} <= ids


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_in_the_catalog(extracted: Catalog, lang: str) -> None:
    lacking = missing(extracted, catalog(lang))
    assert not lacking, (f"{len(lacking)} message(s) missing from the {lang} catalog; run the "
                         "cycle of docs/policies.md, 'Languages':\n" + "\n".join(lacking))


def test_every_message_is_translated_into_indonesian(extracted: Catalog) -> None:
    bad = not_ready(extracted, catalog("id"))
    assert not bad, f"{len(bad)} message(s) not ready in the id catalog:\n" + "\n".join(bad)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_compiled_catalog_is_fresh(lang: str) -> None:
    assert mo_is_fresh(i18n.LOCALE_DIR, i18n.DOMAIN, lang), (
        f"the {lang} .mo is stale: pybabel compile -D {i18n.DOMAIN} -d policies/locale")


def test_problems_and_simulate_speak_the_console_language(lang: None, tmp_path: Path) -> None:
    console_i18n.select("id")
    (tmp_path / "main.toml").write_text(BROKEN)
    with pytest.raises(policies.PolicyError) as raised:
        policies.load(tmp_path)
    assert [p.message for p in raised.value.problems] == ["Kunci wajib belum diisi", "kunci tidak dikenal"]
    assert str(raised.value).endswith(": galat: people[0].time_zone: Kunci wajib belum diisi (+1 lagi)")
    (tmp_path / "main.toml").write_text(DANGLING)
    assert [p.message for p in policies.check(policies.load(tmp_path), datetime(2026, 12, 1, tzinfo=UTC),
                                              days=1)] == ["orang 'zoe' tidak dikenal"]
    with pytest.raises(ValueError, match=r"^durasi '5 menit' tidak valid: gunakan misalnya '30s'"):
        policies.parse_duration("5 menit")
    alert = policies.Alert(service="checkout", severity="sev1", summary="5xx", labels={})
    sim = policies.simulate(policies.load(EXAMPLES), alert, datetime(2026, 12, 1, tzinfo=UTC))
    lines = render(sim, "UTC")
    assert "dirutekan oleh " in lines[0] and lines[-1].startswith("hasil: ")


def test_english_comes_back(lang: None, tmp_path: Path) -> None:
    (tmp_path / "main.toml").write_text(BROKEN)
    console_i18n.select("id")
    console_i18n.select("en")
    with pytest.raises(policies.PolicyError,
                       match=r": error: people\[0\]\.time_zone: Field required \(\+1 more\)$"):
        policies.load(tmp_path)


def test_sunrelay_lang_id_checks_a_broken_directory_in_indonesian(tmp_path: Path) -> None:
    (tmp_path / "main.toml").write_text(BROKEN)
    env = {k: v for k, v in os.environ.items()
           if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG", "SUNRELAY_LANG")}

    def check(*lang: str) -> list[str]:
        done = subprocess.run([sys.executable, "-m", "console", *lang, "policies", "check", str(tmp_path)],
                              capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 1, done.stderr
        return done.stderr.splitlines()

    main = tmp_path / "main.toml"
    assert check("--lang", "id") == [f"{main}:1: galat: people[0].time_zone: Kunci wajib belum diisi",
                                     f"{main}:4: galat: people[0].phone: kunci tidak dikenal",
                                     f"2 galat di {tmp_path}"]
    assert check()[:2] == [f"{main}:1: error: people[0].time_zone: Field required",
                           f"{main}:4: error: people[0].phone: unknown key"]
