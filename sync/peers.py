"""peers.toml: which consoles to sync with, and the secret shared with each.

```toml
[[peers]]
name = "BER"                       # the peer's site name
url = "http://berlin.example:8765"
key_id = "jkt-ber-1"
secret_file = "~/.config/sunrelay/jkt-ber.secret"   # or secret_env = "SUNRELAY_SECRET_BER"
ca_file = "~/.config/sunrelay/team-ca.pem"          # optional: the CA of an https peer
```

Secrets live in a file or an environment variable, never in peers.toml, so
the file can be shared and reviewed.
"""

from __future__ import annotations

import os
import ssl
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from sync.auth import Key


class PeersError(ValueError):
    """peers.toml cannot be used; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class PeerEntry:
    name: str
    url: str
    key_id: str
    secret_file: str | None = None
    secret_env: str | None = None
    ca_file: str | None = None  # CA bundle that signed an https peer's certificate

    def verify(self) -> ssl.SSLContext | bool:
        """How to check an https peer: against `ca_file`, else the system's CAs."""
        if self.ca_file is None:
            return True
        try:
            return ssl.create_default_context(cafile=str(Path(self.ca_file).expanduser()))
        except (OSError, ssl.SSLError) as exc:
            raise PeersError(f"peer {self.name}: cannot use CA file {self.ca_file}: {exc}") from None

    def secret(self, env: Mapping[str, str]) -> bytes:
        if self.secret_env:
            value = env.get(self.secret_env)
            if not value:
                raise PeersError(f"peer {self.name}: environment variable {self.secret_env} is not set")
            return value.strip().encode()
        assert self.secret_file is not None
        path = Path(self.secret_file).expanduser()
        try:
            value = path.read_text().strip()
        except OSError as exc:
            raise PeersError(f"peer {self.name}: cannot read secret file {path}: {exc.strerror}") from None
        if len(value) < 16:
            raise PeersError(f"peer {self.name}: the secret in {path} is shorter than 16 characters")
        return value.encode()

    def key(self, env: Mapping[str, str] = os.environ) -> Key:
        return Key(self.key_id, self.name, self.secret(env))


def load(path: Path) -> list[PeerEntry]:
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PeersError(f"{path}: {exc}") from None
    return parse(data.get("peers", []), str(path))


def parse(entries: object, source: str) -> list[PeerEntry]:
    """Validate the `peers` array as read from TOML; `source` names it in errors."""
    if not isinstance(entries, list):
        raise PeersError(f"{source}: 'peers' must be an array of tables ([[peers]])")
    found: list[PeerEntry] = []
    for n, raw in enumerate(entries, 1):
        where = f"{source}: peer #{n}"
        if not isinstance(raw, dict):
            raise PeersError(f"{where} must be a table")
        unknown = set(raw) - {"name", "url", "key_id", "secret_file", "secret_env", "ca_file"}
        if unknown:
            raise PeersError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        for required in ("name", "url", "key_id"):
            if not isinstance(raw.get(required), str) or not raw[required]:
                raise PeersError(f"{where}: '{required}' is required (a string)")
        if bool(raw.get("secret_file")) == bool(raw.get("secret_env")):
            raise PeersError(f"{where}: give exactly one of 'secret_file' or 'secret_env'")
        if not raw["url"].startswith(("http://", "https://")):
            raise PeersError(f"{where}: url must start with http:// or https://")
        found.append(PeerEntry(**raw))
    names = [p.name for p in found]
    if len(set(names)) != len(names):
        raise PeersError(f"{source}: a peer name appears twice")
    return found


def rows(entries: list[PeerEntry]) -> list[dict[str, str]]:
    return [{k: v for k, v in (("name", p.name), ("url", p.url), ("key_id", p.key_id),
                               ("secret_file", p.secret_file), ("secret_env", p.secret_env),
                               ("ca_file", p.ca_file))
             if v is not None} for p in entries]


def save(path: Path, entries: list[PeerEntry]) -> None:
    """Write atomically, so a crash never leaves half a peers.toml."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(tomli_w.dumps({"peers": rows(entries)}))
    tmp.replace(path)


def keyring(peers: list[PeerEntry], env: Mapping[str, str] = os.environ) -> dict[str, Key]:
    """The keys this console accepts requests under: one per configured peer."""
    return {p.key_id: p.key(env) for p in peers}
