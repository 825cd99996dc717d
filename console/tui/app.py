"""The console app: modes (one per screen), global keys with ids, the theme, and
the services beside the screens: the store watcher, policy hot reload, signal
handling and the one place worker failures become toasts."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.signal import Signal
from textual.worker import Worker, get_current_worker

import policies
from console.store.store import Store
from policies import PolicySet

from .commands import ConsoleCommands
from .context import Context
from .screens.base import report_failure
from .screens.handoff import HandoffScreen
from .screens.help import HelpScreen
from .screens.incident import IncidentScreen
from .screens.oncall import OnCallScreen
from .screens.peers import PeersScreen
from .screens.policies import PoliciesScreen
from .screens.queue import QueueScreen
from .screens.reports import ReportsScreen
from .services.clock import Clock, SystemClock
from .services.status import Services
from .services.watch import StoreWatcher

SCREENS_BY_NUMBER = ("queue", "incident", "oncall", "handoff", "peers", "policies", "reports")
TITLES = {"queue": "Queue", "incident": "Incident", "oncall": "On call", "handoff": "Handoff",
          "peers": "Peers", "policies": "Policies", "reports": "Reports"}


class SunrelayApp(App[None]):
    TITLE = "Sunrelay"
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        "queue": QueueScreen, "oncall": OnCallScreen, "handoff": HandoffScreen,
        "peers": PeersScreen, "policies": PoliciesScreen, "reports": ReportsScreen,
    }
    DEFAULT_MODE = "queue"
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(str(n), f"screen('{name}')", TITLES[name], show=False, id=f"screen.{name}")
          for n, name in enumerate(SCREENS_BY_NUMBER, start=1)),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("colon", "command_palette", "Command", show=False, id="app.command"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]
    CSS = """
    Screen { background: $surface; }
    """

    def __init__(self, store: Store, *, actor: str, clock: Clock | None = None,
                 policy_dir: Path | None = None, policy_set: PolicySet | None = None,
                 readonly: bool = False, compact: bool = False, low_color: bool = False,
                 keymap: dict[str, str] | None = None, poll_seconds: float = 0.5,
                 watch_policies: bool = True, handle_signals: bool = False) -> None:
        super().__init__()
        self.ctx = Context(store, clock or SystemClock(), actor, policy_set, policy_dir,
                           services=Services(), readonly=readonly)
        self.store_changed: Signal[None] = Signal(self, "store-changed")
        self.policies_changed: Signal[None] = Signal(self, "policies-changed")
        self.poll_seconds = poll_seconds
        self.watch_policies = watch_policies and policy_dir is not None
        self.handle_signals = handle_signals
        self.keymap = keymap or {}
        self.compact = compact
        if low_color:
            self.theme = "textual-ansi"

    def on_mount(self) -> None:
        if self.compact:
            self.add_class("-compact")
        if self.keymap:
            self.set_keymap(self.keymap)
        if self.handle_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGHUP):
                loop.add_signal_handler(sig, self.exit)
        self.run_worker(self._watch_store, name="store-watch", group="store-watch", thread=True,
                        exclusive=True, exit_on_error=False)
        if self.ctx.policies is None and self.ctx.policy_dir is not None:
            self.run_worker(partial(self._load_policies, self.ctx.policy_dir), name="policy-load",
                            group="policy-load", thread=True, exit_on_error=False)
        if self.watch_policies and self.ctx.policy_dir is not None:
            self.run_worker(self._watch_policies(self.ctx.policy_dir), name="policy-watch",
                            group="policy-watch", exclusive=True, exit_on_error=False)

    def on_unmount(self) -> None:
        if self.handle_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(sig)

    # -- services ------------------------------------------------------------------

    def _watch_store(self) -> None:
        """Poll the store's change signature; any commit by anyone reloads the screens."""
        watcher = StoreWatcher(self.ctx.store.engine)
        worker = get_current_worker()
        try:
            watcher.changed()
            while not worker.is_cancelled:
                time.sleep(self.poll_seconds)
                if watcher.changed() and not worker.is_cancelled:
                    self.call_from_thread(self.store_changed.publish, None)
        finally:
            watcher.close()

    def _load_policies(self, directory: Path) -> None:
        """The first load runs after the first frame: the queue shows at once and
        gains its deadlines a moment later."""
        result = policies.reload(directory, None)
        self.call_from_thread(self._policies_loaded, result)

    def _policies_loaded(self, result: policies.ReloadResult) -> None:
        self.ctx.set_policies(result.in_force, result.problems)
        if not result.ok:
            self.notify(f"Policies in {self.ctx.policy_dir} have {len(result.problems)} problem(s); "
                        "running without a policy set (Policies screen, 6)", severity="error")
        self.policies_changed.publish(None)

    async def _watch_policies(self, directory: Path) -> None:
        async for result in policies.awatch(directory, yield_initial=False):
            self.ctx.set_policies(result.in_force, result.problems)
            if result.ok:
                self.notify(f"Policies reloaded ({', '.join(Path(c).name for c in result.changed)})")
            else:
                self.notify(f"Policy edit rejected: {len(result.problems)} problem(s); the last "
                            "good set stays in force (Policies screen, 6)", severity="error")
            self.policies_changed.publish(None)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_failure(self, event)

    # -- navigation ----------------------------------------------------------------

    def open_incident(self, key: str) -> None:
        if self.current_mode != "queue":
            self.switch_mode("queue")
        if isinstance(self.screen, IncidentScreen):
            self.pop_screen()
        self.push_screen(IncidentScreen(key))

    def action_screen(self, name: str) -> None:
        if name == "incident":
            queue = self.screen if isinstance(self.screen, QueueScreen) else None
            if isinstance(self.screen, IncidentScreen):
                return
            if queue is None:
                self.switch_mode("queue")
                queue = self.screen if isinstance(self.screen, QueueScreen) else None
            row = queue.table.current if queue is not None else None
            if row is None:
                self.notify("No incident selected", severity="warning")
                return
            self.open_incident(row.key)
            return
        if name == self.current_mode and isinstance(self.screen, IncidentScreen):
            self.pop_screen()
            return
        self.switch_mode(name)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(list(self.help_rows())))

    def help_rows(self) -> Iterable[tuple[str, str, str]]:
        """(keys, what, id) per binding of the current screen and the app, keys grouped."""
        keys: dict[str, list[str]] = {}
        what: dict[str, str] = {}
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if binding.id is None:  # Textual's own scrolling keys
                continue
            ident = binding.id
            keys.setdefault(ident, []).append(self.get_key_display(binding))
            what[ident] = binding.description or binding.action
        for ident, shown in keys.items():
            yield (", ".join(dict.fromkeys(shown)), what[ident], ident)
