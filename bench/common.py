"""What every benchmark prints and needs: one line per figure (BENCHMARKS.md), a free port."""

from __future__ import annotations

import socket


def line(what: str, figure: str, ceiling: str = "", ratio: float | None = None,
         target: str = "", width: int = 44) -> None:
    """`what: figure | ceiling | ratio | target`, the shape shared/BENCHMARKS.md asks for."""
    parts = [f"{what:<{width}}: {figure}"]
    if ceiling:
        parts.append(ceiling)
    if ratio is not None:
        parts.append(f"ratio {ratio:.2f}")
    if target:
        parts.append(f"target {target}")
    print(" | ".join(parts), flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
