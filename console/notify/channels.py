"""The ways a notification reaches a person: webhook, Slack, email, a command, the console.

Each channel takes a `Delivery` and either returns (delivered) or raises
`DeliveryFailed` with a message for the timeline; the dispatcher decides
about retries. Every delivery carries a stable id (`<site>-<outbox row>`) so
that a receiver can drop the duplicate that a crash in mid-send can cause
(see docs/engine.md, "Exactly once per row, and the one window").
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import os
import shlex
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from console.notify.bus import Bus, ConsoleNotice

SIGNATURE_HEADER = "X-Sunrelay-Signature"
DELIVERY_HEADER = "X-Sunrelay-Delivery"
_ERROR_TAIL = 300


class DeliveryFailed(Exception):
    """The channel could not deliver; the message goes on the timeline."""


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    incident_id: str
    person: str | None
    channel: str
    address: str | None
    urgency: str
    attempt: int
    message: Mapping[str, Any] = field(default_factory=dict)

    @property
    def incident(self) -> Mapping[str, Any]:
        value: Mapping[str, Any] = self.message.get("incident", {})
        return value

    def subject(self) -> str:
        inc = self.incident
        return f"[{str(inc.get('severity', '')).upper()}] {inc.get('key')}: {inc.get('title')}"

    def body(self) -> dict[str, Any]:
        """The JSON document webhook receivers get."""
        return {
            "delivery": self.id, "event": self.message.get("event"), "text": self.message.get("text"),
            "person": self.person, "urgency": self.urgency, "attempt": self.attempt,
            "incident": dict(self.incident),
        }


class Channel(Protocol):
    async def send(self, delivery: Delivery) -> None: ...


# What an in-process delivery does once the transaction that records it has committed.
Post = Callable[[], object]


@runtime_checkable
class InProcess(Protocol):
    """A channel that delivers inside this process, at once and without I/O (the console).

    The dispatcher records its deliveries in the transaction that claims them, or
    that decided them (no claim to expire, no second transaction), and shows them
    only once that transaction has committed: `prepare` raises `DeliveryFailed` if
    the delivery cannot be made, else returns the posting to run after the commit.
    """

    def prepare(self, delivery: Delivery) -> Post: ...


def _require(delivery: Delivery) -> str:
    if not delivery.address:
        raise DeliveryFailed(f"{delivery.person} has no {delivery.channel} contact")
    return delivery.address


# --- webhook -------------------------------------------------------------------------


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`: a stale replay is detectable."""
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: bytes, header: str, body: bytes, now: float, tolerance_s: float = 300) -> bool:
    """What a receiver runs: the signature matches and is recent."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        stamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - stamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, body, stamp), header)


class WebhookChannel:
    """POST the JSON document, signed with the shared secret in `X-Sunrelay-Signature`."""

    def __init__(self, client: httpx.AsyncClient, secret: bytes | None) -> None:
        self.client = client
        self.secret = secret

    async def send(self, delivery: Delivery) -> None:
        url = _require(delivery)
        if not self.secret:
            raise DeliveryFailed(
                "no webhook secret configured (SUNRELAY_WEBHOOK_SECRET): not sending unsigned")
        body = json.dumps(delivery.body(), separators=(",", ":"), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", DELIVERY_HEADER: delivery.id,
                   SIGNATURE_HEADER: sign(self.secret, body, int(time.time()))}
        await _post(self.client, url, body, headers)


class SlackChannel:
    """A Slack-compatible incoming webhook: `{"text": ...}` with mrkdwn."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def send(self, delivery: Delivery) -> None:
        url = _require(delivery)
        inc = delivery.incident
        text = f"*{delivery.subject()}*\n{delivery.message.get('text', '')}\nservice `{inc.get('service')}`"
        body = json.dumps({"text": text}, ensure_ascii=False).encode()
        await _post(self.client, url, body, {"Content-Type": "application/json",
                                              DELIVERY_HEADER: delivery.id})


async def _post(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> None:
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}"[:_ERROR_TAIL]) from None
    if not response.is_success:
        raise DeliveryFailed(f"HTTP {response.status_code}: {response.text[:200]}")


# --- email ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout_s: float = 20.0
    # For STARTTLS against a server with a private CA (tests, internal relays).
    tls_context: ssl.SSLContext | None = None

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        """`smtp://[user:pass@]host[:port]?from=pager@example.org`; `smtp+starttls://` adds STARTTLS."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtp+starttls") or not parts.hostname:
            raise ValueError(
                f"SMTP URL must look like smtp+starttls://user:pass@host:587?from=ADDR, got {url!r}")
        query = parse_qs(parts.query)
        sender = query.get("from", [f"sunrelay@{parts.hostname}"])[0]
        return cls(
            host=parts.hostname, port=parts.port or (587 if parts.scheme == "smtp+starttls" else 25),
            sender=sender, starttls=parts.scheme == "smtp+starttls",
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


class EmailChannel:
    """Email over SMTP, with STARTTLS and login when configured; smtplib in a worker thread."""

    def __init__(self, config: SmtpConfig | None) -> None:
        self.config = config

    async def send(self, delivery: Delivery) -> None:
        to = _require(delivery)
        if self.config is None:
            raise DeliveryFailed("no SMTP server configured (--smtp / SUNRELAY_SMTP)")
        await asyncio.to_thread(self._send, self.config, to, delivery)

    @staticmethod
    def _send(config: SmtpConfig, to: str, delivery: Delivery) -> None:
        msg = EmailMessage()
        msg["From"] = config.sender
        msg["To"] = to
        msg["Subject"] = delivery.subject()
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = f"<{delivery.id}@sunrelay>"
        inc = delivery.incident
        lines = [str(delivery.message.get("text", "")), "",
                 *(f"{k}: {inc.get(k)}" for k in ("key", "title", "service", "severity",
                                                   "priority", "status", "team"))]
        msg.set_content("\n".join(lines) + "\n")
        try:
            with smtplib.SMTP(config.host, config.port, timeout=config.timeout_s) as smtp:
                if config.starttls:
                    smtp.starttls(context=config.tls_context or ssl.create_default_context())
                if config.username:
                    smtp.login(config.username, config.password or "")
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"SMTP {type(exc).__name__}: {exc}"[:_ERROR_TAIL]) from None


# --- command -----------------------------------------------------------------------------------


def command_env(delivery: Delivery) -> dict[str, str]:
    """The incident as environment variables; nothing is ever put through a shell."""
    inc = delivery.incident
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "SUNRELAY_DELIVERY_ID": delivery.id,
        "SUNRELAY_EVENT": str(delivery.message.get("event", "")),
        "SUNRELAY_TEXT": str(delivery.message.get("text", "")),
        "SUNRELAY_PERSON": delivery.person or "",
        "SUNRELAY_URGENCY": delivery.urgency,
        "SUNRELAY_ATTEMPT": str(delivery.attempt),
    }
    for name in ("id", "key", "title", "service", "severity", "priority", "status", "team"):
        value = inc.get(name)
        env[f"SUNRELAY_INCIDENT_{name.upper()}"] = "" if value is None else str(value)
    return env


class CommandChannel:
    """Run the person's command (an argv, split like a shell would but never run by one)."""

    def __init__(self, timeout_s: float = 30.0) -> None:
        self.timeout_s = timeout_s

    async def send(self, delivery: Delivery) -> None:
        argv = shlex.split(_require(delivery))
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, env=command_env(delivery), stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        except OSError as exc:
            raise DeliveryFailed(f"cannot run {argv[0]}: {exc.strerror}") from None
        try:
            _, err = await asyncio.wait_for(proc.communicate(), self.timeout_s)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise DeliveryFailed(f"{argv[0]} did not finish within {self.timeout_s:g}s") from None
        if proc.returncode != 0:
            tail = err.decode(errors="replace").strip()[-200:]
            raise DeliveryFailed(f"{argv[0]} exited with {proc.returncode}" + (f": {tail}" if tail else ""))


# --- console -----------------------------------------------------------------------------------


class ConsoleChannel:
    """A toast (and the bell, for pages) in the person's running consoles."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    async def send(self, delivery: Delivery) -> None:
        self.prepare(delivery)()

    def prepare(self, delivery: Delivery) -> Post:
        inc = delivery.incident
        event = str(delivery.message.get("event", ""))
        return functools.partial(self.bus.publish, ConsoleNotice(
            person=delivery.person, key=str(inc.get("key", "")), title=str(inc.get("title", "")),
            severity=str(inc.get("severity", "")), event=event,
            text=str(delivery.message.get("text", "")), bell=event == "page" and delivery.urgency == "high",
            delivery=delivery.id))
