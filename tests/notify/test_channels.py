"""Each channel against a real receiver on 127.0.0.1."""

from __future__ import annotations

import email
import os
import ssl
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from console.notify.bus import Bus, ConsoleNotice
from console.notify.channels import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    CommandChannel,
    ConsoleChannel,
    Delivery,
    DeliveryFailed,
    EmailChannel,
    SlackChannel,
    SmtpConfig,
    WebhookChannel,
    sign,
    verify,
)
from tests.notify.servers import SmtpServer, WebhookReceiver

INCIDENT = {"id": "0190-x", "key": "JKT-7", "title": "Checkout p99 above SLO", "service": "payments",
            "severity": "sev1", "priority": "P1", "status": "triggered", "team": "payments"}


def delivery(channel: str, address: str | None, person: str = "ayu") -> Delivery:
    return Delivery(id="abc-1", incident_id="0190-x", person=person, channel=channel, address=address,
                    urgency="high", attempt=1,
                    message={"event": "page", "text": "JKT-7 SEV1 Checkout — level 1", "incident": INCIDENT})


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver().start()
    yield server
    server.stop()


async def test_the_webhook_arrives_signed_and_the_signature_verifies(receiver: WebhookReceiver) -> None:
    async with httpx.AsyncClient() as client:
        await WebhookChannel(client, b"s3cret").send(delivery("webhook", receiver.url))
    [hook] = receiver.ok()
    assert hook.json()["incident"]["key"] == "JKT-7" and hook.json()["person"] == "ayu"
    assert hook.headers[DELIVERY_HEADER] == "abc-1"
    assert verify(b"s3cret", hook.headers[SIGNATURE_HEADER], hook.body, now=time.time())
    assert not verify(b"other", hook.headers[SIGNATURE_HEADER], hook.body, now=time.time())
    assert not verify(b"s3cret", hook.headers[SIGNATURE_HEADER], hook.body + b" ", now=time.time())
    assert not verify(b"s3cret", hook.headers[SIGNATURE_HEADER], hook.body, now=time.time() + 3600)


def test_a_signature_is_bound_to_its_timestamp() -> None:
    header = sign(b"k", b"{}", 1000)
    assert verify(b"k", header, b"{}", now=1000)
    assert not verify(b"k", header.replace("t=1000", "t=1001"), b"{}", now=1000)


async def test_a_webhook_without_a_secret_is_refused_not_sent_unsigned(receiver: WebhookReceiver) -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(DeliveryFailed, match="no webhook secret"):
            await WebhookChannel(client, None).send(delivery("webhook", receiver.url))
    assert receiver.attempts == 0


async def test_an_error_status_is_a_failed_delivery(receiver: WebhookReceiver) -> None:
    receiver.status = 503
    async with httpx.AsyncClient() as client:
        with pytest.raises(DeliveryFailed, match="HTTP 503"):
            await WebhookChannel(client, b"k").send(delivery("webhook", receiver.url))


async def test_slack_gets_an_incoming_webhook_text(receiver: WebhookReceiver) -> None:
    async with httpx.AsyncClient() as client:
        await SlackChannel(client).send(delivery("slack", receiver.url))
    text = receiver.ok()[0].json()["text"]
    assert "JKT-7" in text and "Checkout p99 above SLO" in text


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(crt), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return str(crt), str(key)


async def test_email_over_starttls_with_login_reaches_a_real_smtp_server(cert: tuple[str, str]) -> None:
    server = SmtpServer(*cert, user="pager", password="pw").start()
    try:
        context = ssl.create_default_context(cafile=cert[0])
        config = SmtpConfig(host="127.0.0.1", port=server.port, sender="sunrelay@example.org",
                            starttls=True, username="pager", password="pw", tls_context=context)
        await EmailChannel(config).send(delivery("email", "ayu@example.id"))
        [envelope] = server.messages
        assert envelope.rcpt_tos == ["ayu@example.id"] and server.logins == ["pager"]
        mail = email.message_from_bytes(envelope.content)
        assert mail["Subject"] == "[SEV1] JKT-7: Checkout p99 above SLO"
        assert mail["Message-ID"] == "<abc-1@sunrelay>"
        assert "service: payments" in mail.get_payload()

        plain = SmtpConfig(host="127.0.0.1", port=server.port, sender="s@example.org")
        with pytest.raises(DeliveryFailed, match="SMTP"):  # the server insists on STARTTLS
            await EmailChannel(plain).send(delivery("email", "ayu@example.id"))
        assert len(server.messages) == 1
    finally:
        server.stop()


def test_an_smtp_url_is_read_into_a_config() -> None:
    config = SmtpConfig.from_url("smtp+starttls://pager:p%40ss@mail.example.org?from=oncall@example.org")
    assert (config.host, config.port, config.starttls, config.username, config.password, config.sender) == (
        "mail.example.org", 587, True, "pager", "p@ss", "oncall@example.org")
    with pytest.raises(ValueError, match="SMTP URL"):
        SmtpConfig.from_url("http://mail")


async def test_email_without_a_server_configured_fails_clearly() -> None:
    with pytest.raises(DeliveryFailed, match="no SMTP server configured"):
        await EmailChannel(None).send(delivery("email", "ayu@example.id"))


async def test_a_command_gets_the_incident_in_its_environment_and_no_shell(tmp_path: Path) -> None:
    out = tmp_path / "env.txt"
    script = tmp_path / "page me"
    script.write_text(f"#!{sys.executable}\nimport os, sys\n"
                      f"open({str(out)!r}, 'w').write(repr((sys.argv[1:], dict(os.environ))))\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    address = f"'{script}' --to 'ayu; rm -rf /' $HOME"
    await CommandChannel().send(delivery("command", address))
    argv, env = eval(out.read_text())  # the script wrote a repr of plain data
    assert argv == ["--to", "ayu; rm -rf /", "$HOME"]
    assert env["SUNRELAY_INCIDENT_KEY"] == "JKT-7" and env["SUNRELAY_PERSON"] == "ayu"
    assert env["SUNRELAY_INCIDENT_TITLE"] == "Checkout p99 above SLO"
    assert env["SUNRELAY_DELIVERY_ID"] == "abc-1"
    assert "HOME" not in env or env["HOME"] != os.environ.get("HOME")


async def test_a_failing_or_missing_command_is_a_failed_delivery(tmp_path: Path) -> None:
    with pytest.raises(DeliveryFailed, match="exited with 3: nope"):
        await CommandChannel().send(delivery("command", f"{sys.executable} -c 'import sys; "
                                                        "sys.stderr.write(\"nope\"); sys.exit(3)'"))
    with pytest.raises(DeliveryFailed, match="cannot run"):
        await CommandChannel().send(delivery("command", str(tmp_path / "missing")))
    with pytest.raises(DeliveryFailed, match="did not finish"):
        await CommandChannel(timeout_s=0.2).send(delivery("command", "sleep 5"))


async def test_the_console_channel_toasts_the_person_and_broadcast_listeners() -> None:
    bus = Bus()
    mine: list[ConsoleNotice] = []
    others: list[ConsoleNotice] = []
    everything: list[ConsoleNotice] = []
    bus.subscribe(mine.append, person="ayu")
    bus.subscribe(others.append, person="budi")
    unsubscribe = bus.subscribe(everything.append)
    await ConsoleChannel(bus).send(delivery("console", "ayu"))
    assert [n.key for n in mine] == ["JKT-7"] and mine[0].bell
    assert others == [] and len(everything) == 1
    unsubscribe()
    await ConsoleChannel(bus).send(delivery("console", "ayu"))
    assert len(everything) == 1 and len(mine) == 2
