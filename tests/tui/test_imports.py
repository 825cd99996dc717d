"""What the console imports before its first frame: not the policy package (its
models and watchfiles), which the console reads only once the first screenful
is on the terminal. A fresh interpreter, since this one has imported everything."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import console.tui.app, console.tui.cli
print(sorted(m for m in ("policies", "console.overrides", "console.engine.adapter", "console.node")
             if m in sys.modules))
"""


def test_the_console_modules_do_not_import_the_policies() -> None:
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
