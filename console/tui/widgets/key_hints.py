"""The footer line: the keys of the current screen, as one line of text.

Textual's `Footer` mounts a widget per key and mounts them all again whenever the
bindings change (each screen switch, each focus move): 40-50 ms a time with
10,000 incidents loaded, more than a key's whole budget. This renders the same
hints into one `Static`, which costs a line of text.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widgets import Static


class KeyHints(Static):
    COMPONENT_CLASSES: ClassVar[set[str]] = {"key-hints--key", "key-hints--description"}
    DEFAULT_CSS = """
    KeyHints { dock: bottom; height: 1; background: $footer-background; color: $footer-foreground; }
    KeyHints > .key-hints--key { color: $footer-key-foreground; background: $footer-key-background;
                                 text-style: bold; }
    KeyHints > .key-hints--description { color: $footer-description-foreground; }
    """

    def __init__(self, *, compact: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.compact = compact
        self._shown: tuple[tuple[str, str, bool], ...] = ()

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self.call_after_refresh(self.show_bindings)

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if self.is_attached and screen is self.screen:
            self.show_bindings()

    def on_resize(self, _event: events.Resize) -> None:
        self._shown = ()
        self.show_bindings()

    def show_bindings(self) -> None:
        seen: set[str] = set()
        hints: list[tuple[str, str, bool]] = []
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if binding.show and binding.action not in seen:
                seen.add(binding.action)
                hints.append((self.app.get_key_display(binding), binding.description, enabled))
        if tuple(hints) == self._shown:
            return
        self._shown = tuple(hints)
        text = self._line(hints, self.compact)
        if not self.compact and text.cell_len > self.size.width > 0:
            # Longer words (Indonesian) take the compact form rather than lose the last keys.
            text = self._line(hints, True)
        self.update(text)

    def _line(self, hints: list[tuple[str, str, bool]], compact: bool) -> Text:
        key = self.get_component_rich_style("key-hints--key")
        description = self.get_component_rich_style("key-hints--description")
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        for shown, what, enabled in hints:
            text.append(shown if compact else f" {shown} ", style=key if enabled else "dim")
            text.append(f" {what} " if compact else f"{what} ",
                        style=description if enabled else "dim")
        text.rstrip()
        return text

