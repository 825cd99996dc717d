"""Real servers on 127.0.0.1 for the channel tests: a webhook receiver and an SMTP server."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """Answers 500 to the first `fail_first` requests, then `status` (200)."""

    fail_first: int = 0
    status: int = 200
    received: list[Received] = field(default_factory=list)
    attempts: int = 0
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def ok(self) -> list[Received]:
        """Requests that got a 2xx."""
        return self.received

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver.attempts += 1
                if receiver.attempts <= receiver.fail_first:
                    code = 500
                else:
                    code = receiver.status
                    if 200 <= code < 300:
                        receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class SmtpServer:
    """aiosmtpd on 127.0.0.1 with STARTTLS required and LOGIN/PLAIN checked against one user."""

    def __init__(self, cert: str, key: str, user: str, password: str) -> None:
        import ssl

        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self.messages: list[Any] = []
        self.logins: list[str] = []
        server = self
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)

        class Handler:
            async def handle_DATA(self, _server: Any, session: Any, envelope: Any) -> str:
                server.messages.append(envelope)
                return "250 OK"

        def authenticator(_server: Any, _session: Any, _envelope: Any, _mechanism: str,
                          data: Any) -> AuthResult:
            ok = isinstance(data, LoginPassword) and data.login.decode() == user \
                and data.password.decode() == password
            if ok:
                server.logins.append(user)
            return AuthResult(success=ok)

        with socket.socket() as sock:  # aiosmtpd's readiness probe needs the real port up front
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.controller = Controller(
            Handler(), hostname="127.0.0.1", port=self.port, tls_context=context, require_starttls=True,
            auth_required=True, authenticator=authenticator, server_hostname="127.0.0.1")

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
