"""What every console screen shares: the header line, the footer, the
once-a-second header tick, and reloading when the store or the policies change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.signal import Signal
from textual.timer import Timer
from textual.worker import Worker, WorkerState, get_current_worker

from ..context import Context
from ..model import QueueRow
from ..widgets.key_hints import KeyHints
from ..widgets.status_line import StatusLine

T = TypeVar("T")


def error_text(error: BaseException) -> str:
    """The domain's own sentence for refused actions; the class name otherwise."""
    if isinstance(error, LookupError | ValueError) and error.args:
        return str(error.args[0])
    return f"{type(error).__name__}: {error}"


def report_failure(app: App[Any], event: Worker.StateChanged) -> None:
    """The one place a failed worker becomes a toast (worker state messages do not
    bubble, so the app and every screen hand theirs here)."""
    if event.state is WorkerState.ERROR and event.worker.error is not None:
        app.notify(error_text(event.worker.error), title=event.worker.name or "error",
                   severity="error", markup=False, timeout=8)


class ConsoleApp(Protocol):
    """The app as screens see it (the concrete class imports the screens)."""

    ctx: Context
    store_changed: Signal[None]
    policies_changed: Signal[None]
    services_changed: Signal[None]

    def open_incident(self, key: str, row: QueueRow | None = None) -> None: ...

    def first_rows_shown(self) -> None:
        """The queue's first screenful is on the terminal: start what can wait for it."""

    def queue_loaded(self) -> None:
        """The whole queue has been loaded (called after every full load)."""


class ConsoleScreen(Screen[None]):
    """A top-level screen: subclasses compose their body and implement `reload`."""

    TICK_SECONDS = 1.0

    def __init__(self) -> None:
        super().__init__()
        self._ticker: Timer | None = None

    @property
    def console(self) -> ConsoleApp:
        return cast(ConsoleApp, self.app)

    @property
    def ctx(self) -> Context:
        return self.console.ctx

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status-line")
        yield from self.compose_body()
        yield KeyHints(compact=self.app.has_class("-compact"))

    def compose_body(self) -> ComposeResult:
        raise NotImplementedError

    def on_mount(self) -> None:
        self.console.store_changed.subscribe(self, lambda _: self.reload())
        self.console.policies_changed.subscribe(self, lambda _: self.reload())
        self._ticker = self.set_interval(self.TICK_SECONDS, self.tick)
        self.tick()
        self.reload()

    def on_screen_suspend(self) -> None:
        if self._ticker is not None:
            self._ticker.pause()

    def on_screen_resume(self) -> None:
        if self._ticker is not None:
            self._ticker.resume()
            self.tick()

    def tick(self) -> None:
        """Once a second: the header's clock; subclasses add their countdowns."""
        self.query_one(StatusLine).show(self.ctx.header())

    def reload(self) -> None:
        """Fetch this screen's data again (store or policies changed)."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_failure(self.app, event)

    def background(self, group: str, work: Callable[[], T], done: Callable[[T], Any]) -> None:
        """Run blocking `work` in a thread worker of `group` (a newer call replaces an
        older one still running) and hand its result to `done` on the UI thread.
        Failures reach the app's one worker-error handler, which toasts them."""
        def run() -> None:
            result = work()
            if not get_current_worker().is_cancelled:
                self.app.call_from_thread(done, result)

        self.run_worker(run, name=group, group=group, thread=True, exclusive=True,
                        exit_on_error=False)
