"""The console app: modes (one per screen), global keys with ids, the theme, and
the services beside the screens: the Node (HTTP, sync, the engine: the same as
`sunrelay serve`), the store watcher, policy hot reload, pages from the console
channel, signal handling and the one place worker failures become toasts."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import signal
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.signal import Signal
from textual.worker import Worker, WorkerState, get_current_worker

from console.i18n import _, _l, ngettext
from console.notify.bus import BUS, ConsoleNotice

from .commands import ConsoleCommands
from .context import Context
from .model import QueueRow
from .screens.base import report_failure
from .screens.help import HelpScreen
from .screens.incident import IncidentScreen
from .screens.queue import QueueScreen
from .services.clock import Clock, SystemClock
from .services.node import NodeRuntime, ServeOptions
from .services.status import Services, from_node
from .services.watch import StoreWatcher

if TYPE_CHECKING:
    # `policies` is imported by the worker that reads the policy set, after the first
    # frame (its models and watchfiles cost ~0.1 s of CPU the first frame need not wait for).
    from console.node import NodeState
    from console.store.store import Store
    from policies import PolicySet, ReloadResult
    from sync.service import PeerStatus

SCREENS_BY_NUMBER = ("queue", "incident", "oncall", "handoff", "peers", "policies", "reports")
TITLES = {"queue": _l("Queue"), "incident": _l("Incident"), "oncall": _l("On call"),
          "handoff": _l("Handoff"), "peers": _l("Peers"), "policies": _l("Policies"),
          "reports": _l("Reports")}


class NodeOpened(Message):
    def __init__(self, problem: str | None) -> None:
        super().__init__()
        self.problem = problem


class NodeStateChanged(Message):
    def __init__(self, state: NodeState) -> None:
        super().__init__()
        self.state = state


class PeerChanged(Message):
    def __init__(self, status: PeerStatus) -> None:
        super().__init__()
        self.status = status


class Paged(Message):
    def __init__(self, notice: ConsoleNotice) -> None:
        super().__init__()
        self.notice = notice


def _later(module: str, name: str) -> Callable[[], Screen[Any]]:
    """A screen whose module is imported when it is first shown: the console starts
    with the queue's imports only (the handoff screen alone would add a fifth)."""
    def make() -> Screen[Any]:
        screen: Callable[[], Screen[Any]] = getattr(
            importlib.import_module(f"{__package__}.screens.{module}"), name)
        return screen()
    return make


class SunrelayApp(App[None]):
    TITLE = "Sunrelay"
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        "queue": QueueScreen, "oncall": _later("oncall", "OnCallScreen"),
        "handoff": _later("handoff", "HandoffScreen"), "peers": _later("peers", "PeersScreen"),
        "policies": _later("policies", "PoliciesScreen"),
        "reports": _later("reports", "ReportsScreen"),
    }
    DEFAULT_MODE = "queue"
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(str(n), f"screen('{name}')", TITLES[name], show=False, id=f"screen.{name}")
          for n, name in enumerate(SCREENS_BY_NUMBER, start=1)),
        Binding("question_mark", "help", _l("Help"), id="app.help"),
        Binding("colon", "command_palette", _l("Command"), show=False, id="app.command"),
        Binding("q", "quit", _l("Quit"), id="app.quit"),
    ]
    CSS = """
    Screen { background: $surface; }
    """

    def __init__(self, store: Store, *, actor: str, clock: Clock | None = None,
                 policy_dir: Path | None = None, policy_set: PolicySet | None = None,
                 readonly: bool = False, compact: bool = False, low_color: bool = False,
                 keymap: dict[str, str] | None = None, poll_seconds: float = 0.5,
                 watch_policies: bool = True, handle_signals: bool = False,
                 serve: ServeOptions | None = None, services: Services | None = None) -> None:
        """`serve`: run a Node beside the console once a policy set is in force;
        `services`: what the header shows without one (tests inject it)."""
        super().__init__()
        self.ctx = Context(store, clock or SystemClock(), actor, policy_set, policy_dir,
                           services=services or Services(), readonly=readonly)
        self.store_changed: Signal[None] = Signal(self, "store-changed")
        self.policies_changed: Signal[None] = Signal(self, "policies-changed")
        self.services_changed: Signal[None] = Signal(self, "services-changed")
        self.serve = serve
        self.runtime: NodeRuntime | None = None
        self._http = _("not serving")
        self._ever_online: set[str] = set()
        self._last_status: dict[str, bool | None] = {}
        self.poll_seconds = poll_seconds
        self.watch_policies = watch_policies and policy_dir is not None
        self.handle_signals = handle_signals
        self.keymap = keymap or {}
        self.compact = compact
        self._started = False
        self._queue_loaded = False
        # Set when the app unmounts: a service started after that (a queued first paint,
        # a policy load finishing) would run in an executor thread nobody stops, and
        # asyncio.run waits for those threads at exit: the console would never quit.
        self._closing = False
        self._incident: IncidentScreen | None = None
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
        self._unsubscribe = BUS.subscribe(self._on_notice)

    def first_rows_shown(self) -> None:
        """The services start once the queue's first screenful is on the terminal, so
        that none of them (policy files to parse, the Node) holds the first frame back."""
        if self._started or self._closing:
            return
        self._started = True
        self._freeze_heap()
        self.ctx.overrides  # noqa: B018 -- made here, before the workers that share it
        self.run_worker(self._watch_store, name="store-watch", group="store-watch", thread=True,
                        exclusive=True, exit_on_error=False)
        self._start_node()
        if self.ctx.policies_coming and self.ctx.policy_dir is not None:
            self.run_worker(partial(self._load_policies, self.ctx.policy_dir), name="policy-load",
                            group="policy-load", thread=True, exit_on_error=False)
        if self.watch_policies and self.ctx.policy_dir is not None:
            self.run_worker(self._watch_policies(self.ctx.policy_dir), name="policy-watch",
                            group="policy-watch", exclusive=True, exit_on_error=False)

    def queue_loaded(self) -> None:
        """The whole queue is in memory for the first time."""
        if not self._queue_loaded:
            self._queue_loaded = True
            self._freeze_heap()

    @staticmethod
    def _freeze_heap() -> None:
        """Move every object start-up made so far out of the collector's sight: most
        live as long as the console (modules, screens, 10,000 queue rows), and a full
        collection walking them all held the UI for 100-300 ms every few seconds of
        typing. Called twice, so what it keeps from ever being collected (cyclic
        garbage lying about at those two moments) is bounded; `on_unmount` gives it
        back, for the processes (tests) that run one console after another. The first
        call also turns the collector back on: `sunrelay console` starts with it off
        (console/tui/cli.py), so that it does not walk start-up's objects either (and
        `on_unmount` too, should the first screenful never have come)."""
        gc.freeze()
        gc.enable()

    async def on_unmount(self) -> None:
        self._closing = True
        gc.unfreeze()
        gc.enable()
        self._unsubscribe()
        if self.runtime is not None:  # releases the engine lease before the process ends
            await asyncio.to_thread(self.runtime.stop, 10.0)
        if self.handle_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(sig)

    # -- services ------------------------------------------------------------------

    def _watch_store(self) -> None:
        """Poll the store's change signature; any commit by anyone reloads the screens
        (and brings the overrides the header counts up to date)."""
        watcher = StoreWatcher(self.ctx.store.engine)
        worker = get_current_worker()
        try:
            watcher.changed()
            if self.ctx.overrides.refresh():
                self.call_from_thread(self.ctx.recheck_duty)
            while not worker.is_cancelled:
                time.sleep(self.poll_seconds)
                if watcher.changed() and not worker.is_cancelled:
                    if self.runtime is not None:
                        self.runtime.changed()
                    if self.ctx.overrides.refresh():
                        self.call_from_thread(self.ctx.recheck_duty)
                    self.call_from_thread(self.store_changed.publish, None)
        finally:
            watcher.close()

    def _load_policies(self, directory: Path) -> None:
        """The first load runs after the first frame: the queue shows at once and
        gains its deadlines a moment later."""
        from policies import reload

        result = reload(directory, None)
        self.call_from_thread(self._policies_loaded, result)

    def _policies_loaded(self, result: ReloadResult) -> None:
        self._set_policies(result)
        if not result.ok:
            self.notify(ngettext(
                "Policies in {directory} have {n} problem; running without a policy set "
                "(Policies screen, 6)",
                "Policies in {directory} have {n} problems; running without a policy set "
                "(Policies screen, 6)", len(result.problems)).format(
                    directory=self.ctx.policy_dir, n=len(result.problems)), severity="error")
        self.policies_changed.publish(None)

    def _set_policies(self, result: ReloadResult) -> None:
        self.ctx.set_policies(result.in_force, result.problems)
        if self.runtime is not None and result.in_force is not None:
            self.runtime.policy_set = result.in_force
        self._start_node()

    async def _watch_policies(self, directory: Path) -> None:
        from policies import awatch

        async for result in awatch(directory, yield_initial=False):
            self._set_policies(result)
            if result.ok:
                self.notify(_("Policies reloaded ({files})").format(
                    files=", ".join(Path(c).name for c in result.changed)))
            else:
                self.notify(ngettext(
                    "Policy edit rejected: {n} problem; the last good set stays in force "
                    "(Policies screen, 6)",
                    "Policy edit rejected: {n} problems; the last good set stays in force "
                    "(Policies screen, 6)", len(result.problems)).format(n=len(result.problems)),
                    severity="error")
            self.policies_changed.publish(None)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_failure(self, event)
        if event.worker.group == "node" and event.state is WorkerState.ERROR:  # e.g. a bad peers.toml
            self.ctx.services = Services(http=_("not serving: {problem}").format(
                problem=event.worker.error))
            self.services_changed.publish(None)

    # -- the Node: HTTP, sync and the engine -------------------------------------

    def _start_node(self) -> None:
        """Once, when a policy set is first in force: the engine and ingest need one."""
        if self.serve is None or self.runtime is not None or self.ctx.policies is None or self._closing:
            return
        self.runtime = NodeRuntime(
            self.serve, self.ctx.store, self.ctx.policies,
            on_state=lambda state: self._post(NodeStateChanged(state)),
            on_status=lambda status: self._post(PeerChanged(status)))
        self.ctx.services = Services(engine="starting", sync="starting", sync_short="sync starting",
                                     http=self._http)
        self.run_worker(partial(self._run_node, self.runtime), name="node", group="node",
                        thread=True, exclusive=True, exit_on_error=False)

    def _post(self, message: Message) -> None:
        """From the Node's thread; dropped once the console is closing."""
        with contextlib.suppress(RuntimeError):  # the app's loop has closed
            self.post_message(message)

    def _run_node(self, runtime: NodeRuntime) -> None:
        problem = runtime.open()
        self._post(NodeOpened(problem))
        runtime.run()

    def on_node_opened(self, event: NodeOpened) -> None:
        if event.problem is not None:
            self._http = _("not serving: {problem}").format(problem=event.problem)
            self.notify(_("{problem}. The engine and sync run; peers cannot reach this console.")
                        .format(problem=event.problem),
                        title="HTTP", severity="error", timeout=15, markup=False)
        elif self.runtime is not None:
            self._http = _("serving on {url}").format(url=f"http://{self.runtime.serving}")

    def on_node_state_changed(self, event: NodeStateChanged) -> None:
        services = from_node(event.state, self._http)
        if services != self.ctx.services:
            self.ctx.services = services
            self.services_changed.publish(None)

    def on_peer_changed(self, event: PeerChanged) -> None:
        """Online/offline transitions of a peer that has been online become toasts."""
        status = event.status
        before = self._last_status.get(status.name)
        self._last_status[status.name] = status.online
        if status.online:
            if before is False and status.name in self._ever_online:
                self.notify(_("{peer} is back online").format(peer=status.name), title=_("Sync"))
            self._ever_online.add(status.name)
        elif status.online is False and before and status.name in self._ever_online:
            self.notify(_("{peer} went offline: {error}").format(peer=status.name, error=status.error),
                        title=_("Sync"), severity="warning", markup=False)

    def _on_notice(self, notice: ConsoleNotice) -> None:
        """On the dispatcher's thread."""
        self._post(Paged(notice))

    def on_paged(self, event: Paged) -> None:
        """A notice from the engine's console channel: toasts for me (or for every
        console), and the bell for a page that wants a human now."""
        notice = event.notice
        if notice.person not in (None, self.ctx.me.person, self.ctx.actor):
            return
        self.notify(notice.text or f"{notice.key} {notice.title}",
                    title=f"{notice.event} {notice.key}".strip(),
                    severity="error" if notice.bell else "warning", timeout=10, markup=False)
        if notice.bell:
            self.bell()

    # -- navigation ----------------------------------------------------------------

    def open_incident(self, key: str, row: QueueRow | None = None) -> None:
        """`row`: the queue's row, so the incident's header shows before its detail loads."""
        if self.current_mode != "queue":
            self.switch_mode("queue")
        if isinstance(self.screen, IncidentScreen):
            self.pop_screen()
        screen = self._incident
        if screen is None:  # installed, so that popping it keeps it for the next incident
            screen = self._incident = IncidentScreen(key, row)
            self.install_screen(screen, "incident")
        else:
            screen.show_incident(key, row)
        self.push_screen(screen)

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
                self.notify(_("No incident selected"), severity="warning")
                return
            self.open_incident(row.key, row)
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
            what[ident] = str(binding.description) or binding.action

        for ident, shown in keys.items():
            yield (", ".join(dict.fromkeys(shown)), what[ident], ident)
