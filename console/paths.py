"""Where Sunrelay keeps its files by default, worked out without importing the
store (SQLAlchemy) or the `policies` package: `sunrelay console` starts with the
queue, and parses the policies (pydantic models, holiday calendars) only after its
first frame; `sunrelay peers list` needs neither."""

from __future__ import annotations

import os
from importlib.util import find_spec
from pathlib import Path


def data_dir() -> Path:
    """Where the default store, peers.toml and policies live: $XDG_DATA_HOME/sunrelay."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "sunrelay"


def default_policies_dir() -> Path:
    """`policies/` next to the store, else the packaged examples (a fresh machine works)."""
    store_side = data_dir() / "policies"
    if store_side.is_dir():
        return store_side
    spec = find_spec("policies")  # locates the package without running its __init__
    assert spec is not None and spec.submodule_search_locations
    return Path(spec.submodule_search_locations[0]) / "examples"
