"""Handoff: this shift's note in an editor (save, send), the handoffs received
from other regions waiting for my acknowledgement, and the history; every
action is an op through `console.handoff`, as `sunrelay handoff` records it."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Markdown, Static, TextArea

from console.handoff.draft import stamp
from console.i18n import _, _l

from ..services import handoff
from .base import ConsoleScreen
from .modals import ChoiceScreen, ConfirmScreen


class HandoffScreen(ConsoleScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "edit", _l("Edit"), id="handoff.edit"),
        Binding("ctrl+s", "save", _l("Save"), id="handoff.save"),
        Binding("s", "send", _l("Send"), id="handoff.send"),
        Binding("a", "ack", _l("Acknowledge"), id="handoff.ack"),
        Binding("d", "draft", _l("Draft now"), show=False, id="handoff.draft"),
        Binding("escape", "leave_editor", _l("Leave the editor"), show=False, id="handoff.leave"),
    ]
    MUTATING = frozenset({"save", "send", "ack", "draft"})
    DEFAULT_CSS = """
    HandoffScreen #handoff { height: 1fr; padding: 0 1; }
    HandoffScreen .section { text-style: bold; color: $accent; margin-top: 1; }
    HandoffScreen #editor { height: 16; display: none; }
    HandoffScreen #editor.-shown { display: block; }
    HandoffScreen #note { display: none; }
    HandoffScreen #note.-shown { display: block; }
    HandoffScreen .muted { color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.data: handoff.Handoffs | None = None

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="handoff"):
            yield Static(_("Loading…"), id="shift", classes="section")
            yield TextArea(id="editor", language=None, soft_wrap=True)
            yield Markdown(id="note")
            yield Static(id="standing", classes="muted")
            yield Static(_("Received, waiting for your acknowledgement (a)"), classes="section")
            yield Static(id="received")
            yield Static(_("History"), classes="section")
            yield Static(id="history", classes="muted")

    # -- data ----------------------------------------------------------------------

    def reload(self) -> None:
        ctx = self.ctx
        ctx.header()  # looks up this console's region (kept for a minute)
        store, ps, region, now = ctx.store, ctx.policies, ctx.region, ctx.clock.now()
        self.background("handoff-load", lambda: handoff.load(store, ps, region, now), self.show)

    def show(self, data: handoff.Handoffs) -> None:
        self.data = data
        shift, draft = data.shift, data.draft
        if shift is None:
            title = _("No shift to hand off: {why}").format(why=data.problem)
        else:
            title = _("This shift: {region} → {next} at {at}").format(
                region=shift.region, next=shift.next_region, at=stamp(shift.end))
            if draft is None:
                title += " · " + _("no draft yet (d: draft now)")
            else:
                title += f" · {draft.status_text} [{draft.ref}]"
        self.query_one("#shift", Static).update(title)
        editor = self.query_one("#editor", TextArea)
        note = self.query_one("#note", Markdown)
        editing = draft is not None and draft.status == "draft"
        # A reload while someone types must not throw their words away.
        if editing and draft is not None and not (editor.has_focus and editor.text != draft.markdown):
            editor.load_text(draft.markdown)
        editor.set_class(editing, "-shown")
        note.set_class(draft is not None and not editing, "-shown")
        if draft is not None and not editing:
            note.update(draft.markdown)
        self.query_one("#standing", Static).update(Text(
            "\n".join(draft.standing) if draft else "", no_wrap=False))
        received = Text()
        for it in data.received:
            received.append(f"[{it.ref}] {it.route} {stamp(it.handoff_at)}\n", style="bold")
            received.append(it.markdown.rstrip() + "\n")
            received.append("\n".join(it.standing) + "\n\n", style="dim")
        self.query_one("#received", Static).update(received or Text(_("none"), style="dim"))
        history = Text(no_wrap=True, overflow="ellipsis")
        for it in data.history:
            history.append(f"{it.ref}  {it.status_text:<14} {it.route}  {stamp(it.handoff_at)}\n")

        self.query_one("#history", Static).update(history or Text(_("none")))

    # -- keys ----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in self.MUTATING and self.ctx.readonly)

    def _draft(self) -> handoff.Item | None:
        draft = self.data.draft if self.data else None
        if draft is None or draft.status != "draft":
            self.notify(_("No draft to edit or send for this shift"), severity="warning")
            return None
        return draft

    def action_edit(self) -> None:
        if self._draft() is not None:
            self.query_one("#editor", TextArea).focus()

    def action_leave_editor(self) -> None:
        self.query_one("#handoff", VerticalScroll).focus()

    def _done(self, message: str) -> None:
        self.notify(message, markup=False)
        self.action_leave_editor()
        self.reload()

    def action_save(self) -> None:
        draft = self._draft()
        if draft is None:
            return
        store, actor, text = self.ctx.store, self.ctx.actor, self.query_one("#editor", TextArea).text
        self.background("act", lambda: handoff.save(store, draft.id, actor, text),
                        lambda it: self._done(_("Handoff {ref} saved").format(ref=it.ref)))

    def action_send(self) -> None:
        draft = self._draft()
        if draft is None:
            return
        store, actor, text = self.ctx.store, self.ctx.actor, self.query_one("#editor", TextArea).text

        def go() -> None:
            self.background("act", lambda: handoff.send(store, draft.id, actor, text),
                            lambda it: self._done(_("Handoff {ref} sent: {route}").format(
                                ref=it.ref, route=it.route)))

        self.app.push_screen(ConfirmScreen(_("Send handoff {route} now, as it stands in the "
                                             "editor?").format(route=draft.route)),
                             lambda yes: go() if yes else None)

    def action_ack(self) -> None:
        waiting = self.data.received if self.data else []
        if not waiting:
            self.notify(_("No handoff waiting for an acknowledgement"), severity="warning")
            return
        store, actor = self.ctx.store, self.ctx.actor

        def go(ref: str | None) -> None:
            if ref is not None:
                self.background("act", lambda: handoff.ack(store, ref, actor),
                                lambda it: self._done(_("Handoff {ref} acknowledged: {route}")
                                                      .format(ref=it.ref, route=it.route)))

        if len(waiting) == 1:
            go(waiting[0].id)
            return
        self.app.push_screen(ChoiceScreen(_("Acknowledge which handoff?"), [
            (it.id, f"{it.ref}  {it.route}  {stamp(it.handoff_at)}") for it in waiting]), go)

    def action_draft(self) -> None:
        data, ps = self.data, self.ctx.policies
        if data is None or data.shift is None or ps is None:
            self.notify(_("No shift to draft a handoff for"), severity="warning")
            return
        if data.draft is not None:
            self.notify(_("This shift has its handoff already ({ref})").format(ref=data.draft.ref),
                        severity="warning")
            return
        store, actor, shift, now = self.ctx.store, self.ctx.actor, data.shift, self.ctx.clock.now()
        self.background("act", lambda: handoff.draft_now(store, ps, shift, now, actor),
                        lambda it: self._done(_("Handoff {ref} drafted").format(ref=it.ref)))
