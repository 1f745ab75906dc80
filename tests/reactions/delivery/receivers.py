"""Real receivers on loopback for the delivery tests: an HTTP server (the standard library's,
in a thread) that records every request and answers as told, an SMTP server (aiosmtpd) that
records every message, and a TCP listener that accepts connections and never says a word."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer  # noqa: N811
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# -- HTTP ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    client_port: int


@dataclass(frozen=True)
class Reply:
    """How to answer one request: a status with headers and body; ``hang`` waits until the
    receiver stops; ``drop`` closes the connection without answering."""

    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    hang: bool = False
    drop: bool = False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    receiver: HttpReceiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a hung handler writing to a closed socket at teardown is expected


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse can be observed
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        receiver = self.server.receiver
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else b""
        receiver.record(
            Recorded(
                self.command,
                self.path,
                {name.lower(): value for name, value in self.headers.items()},
                body,
                self.client_address[1],
            )
        )
        reply = receiver.next_reply()
        if reply.hang:
            receiver.released.wait(30)
            self.close_connection = True
            return
        if reply.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_POST = _handle  # noqa: N815 (http.server's names)
    do_PUT = _handle  # noqa: N815
    do_GET = _handle  # noqa: N815


class HttpReceiver:
    """A real HTTP server on 127.0.0.1. :meth:`answer` queues replies, one per request;
    when the queue is empty it answers ``204``."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.released = threading.Event()
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        port: int = self._server.server_address[1]
        return port

    def url(self, path: str = "/notify") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def record(self, request: Recorded) -> None:
        with self._lock:
            self.requests.append(request)

    def next_reply(self) -> Reply:
        with self._lock:
            return self._replies.popleft() if self._replies else Reply()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@contextlib.contextmanager
def running_http_receiver() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


# -- SMTP ------------------------------------------------------------------------------------


class SmtpRecorder:
    """aiosmtpd handler: keeps every accepted envelope; ``refuse`` maps a recipient to the
    reply its RCPT gets; ``data_reply`` replaces the answer to DATA."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.refuse: dict[str, str] = {}
        self.data_reply: str | None = None

    async def handle_RCPT(
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        if self.data_reply is not None:
            return self.data_reply
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@dataclass
class SmtpReceiver:
    host: str
    port: int
    recorder: SmtpRecorder
    logins: list[tuple[str, str]]


class _Authenticator:
    def __init__(self, username: str, password: str, logins: list[tuple[str, str]]) -> None:
        self._expected = (username, password)
        self._logins = logins

    def __call__(
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = (auth_data.login.decode(), auth_data.password.decode())
        self._logins.append(login)
        return AuthResult(success=login == self._expected, handled=False)


@contextlib.contextmanager
def running_smtp_receiver(credentials: tuple[str, str] | None = None) -> Iterator[SmtpReceiver]:
    """aiosmtpd on 127.0.0.1 at a free port; with ``credentials`` it offers AUTH (without
    TLS: loopback only) and checks them."""
    recorder = SmtpRecorder()
    logins: list[tuple[str, str]] = []
    kwargs: dict[str, Any] = {}
    if credentials is not None:
        kwargs = {
            "authenticator": _Authenticator(*credentials, logins),
            "auth_require_tls": False,
            "auth_required": True,
        }
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    try:
        yield SmtpReceiver("127.0.0.1", controller.port, recorder, logins)
    finally:
        controller.stop()


# -- a silent peer ---------------------------------------------------------------------------


@contextlib.contextmanager
def silent_listener() -> Iterator[int]:
    """A TCP port that accepts connections and never sends anything (for timeouts)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                conn, _ = server.accept()
                accepted.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for conn in accepted:
            conn.close()
        server.close()


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (connections are refused)."""
    return free_port()
