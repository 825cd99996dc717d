"""Small dialogs: confirm, type the key, a line of text, a choice from a list.

Each is a `ModalScreen` returning its answer through `dismiss`, so callers use
`push_screen(dialog, callback)` and nothing blocks the event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList
from textual.widgets.option_list import Option

from console.i18n import _, _l

DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 70; max-width: 95%; height: auto; max-height: 90%;
    border: thick $accent; background: $surface; padding: 0 1;
}}
{name} .title {{ text-style: bold; width: 100%; }}
{name} .hint {{ color: $text-muted; }}
{name} Horizontal {{ height: auto; align-horizontal: right; }}
{name} Button {{ margin: 0 1; min-width: 10; }}
{name} OptionList {{ height: auto; max-height: 14; }}
"""


class ConfirmScreen(ModalScreen[bool]):
    """Yes or no; the focus starts on No, so a stray enter changes nothing."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ConfirmScreen")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", _l("Yes"), id="confirm.yes"),
        Binding("n,escape", "answer(False)", _l("No"), id="confirm.no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question, classes="title")
            with Horizontal():
                yield Button(_("Yes (y)"), id="yes", variant="error")
                yield Button(_("No (n)"), id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class PromptScreen(ModalScreen[str | None]):
    """One line of text; enter submits, escape cancels (None)."""

    DEFAULT_CSS = DIALOG_CSS.format(name="PromptScreen")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", _l("Cancel"), id="prompt.cancel")]

    def __init__(self, title: str, placeholder: str = "", hint: str | None = None,
                 value: str = "") -> None:
        """`hint`: under the input; None for "enter to save, esc to cancel"."""
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.hint = _("enter to save, esc to cancel") if hint is None else hint
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title")
            yield Input(value=self.value, placeholder=self.placeholder, id="prompt-input")
            yield Label(self.hint, classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        # Textual runs this handler for each class in the MRO, so subclasses
        # change `answer`, not the handler.
        self.dismiss(self.answer(event.value))

    def answer(self, value: str) -> str | None:
        return value

    def action_cancel(self) -> None:
        self.dismiss(None)


class TypeKeyScreen(PromptScreen):
    """For high-risk incidents: the action goes ahead only when the key is typed."""

    DEFAULT_CSS = DIALOG_CSS.format(name="TypeKeyScreen")

    def __init__(self, key: str, what: str) -> None:
        super().__init__(_("{key} is high-risk. Type {key} to {what} it.").format(key=key, what=what),
                         placeholder=key, hint=_("esc to cancel"))
        self.key = key

    def answer(self, value: str) -> str | None:
        return value if value.strip().upper() == self.key.upper() else None


class ChoiceScreen(ModalScreen[str | None]):
    """Pick one of `choices` (id, label); escape cancels (None)."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ChoiceScreen")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", _l("Cancel"), id="choice.cancel")]

    def __init__(self, title: str, choices: Sequence[tuple[str, str]],
                 current: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.choices = list(choices)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title")
            yield OptionList(*(Option(label, id=ident) for ident, label in self.choices))
            yield Label(_("enter to choose, esc to cancel"), classes="hint")


    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        ids = [ident for ident, _ in self.choices]
        if self.current in ids:
            options.highlighted = ids.index(self.current)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
