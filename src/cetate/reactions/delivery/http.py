"""HTTP delivery: one attempt to POST a :class:`NotificationRequest` (or any body), with httpx.

:class:`HttpSender` holds one :class:`httpx.AsyncClient` (a connection pool shared by every
endpoint; keep one sender per process and close it at shutdown). :meth:`HttpSender.send`
never raises for network or receiver failures; it returns a
:class:`~cetate.reactions.delivery.outcome.DeliveryOutcome`:

================================  ===========  =====================================
what happened                     kind         reason
================================  ===========  =====================================
2xx                               ok           ``delivered``
408, 429, 5xx                     retryable    ``http_status`` (+ ``retry_after``
                                               from 429 and 503)
other 4xx (and 1xx/3xx leftovers) permanent    ``http_status``
no connection (refused)           retryable    ``connection_refused``
no connection (DNS, TLS …)        retryable    ``connect_error``
connect/read/write/total timeout  retryable    ``timeout``
connection broken mid-exchange    retryable    ``network_error``
redirect elsewhere, or too many   permanent    ``redirect_refused``
not an http(s) URL, bad header    permanent    ``invalid_endpoint``
================================  ===========  =====================================

Redirects: 301, 302, 307 and 308 are followed (at most ``max_redirects``) only to the same
host and port, or from ``http`` to ``https`` on the same host, and the request is sent again
unchanged (method, body, headers). Anything else — another host, another port, a downgrade
to ``http``, 303 — is not followed: a notification must not be re-aimed at another server by
whoever answers, so the endpoint has to be corrected in the subscription.

Proxies from the environment (``HTTP_PROXY`` …) are ignored unless ``trust_env=True``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Final, Self

import httpx

from cetate import __version__
from cetate.reactions.delivery.outcome import DeliveryOutcome, OutcomeKind, parse_retry_after
from cetate.reactions.subscriptions.notification import NotificationRequest

USER_AGENT: Final = f"cetate/{__version__}"
DEFAULT_TIMEOUT: Final = httpx.Timeout(10.0, connect=5.0)
"""Per phase: 5 s to connect, 10 s for each read, write and pool wait."""
DEFAULT_TOTAL_TIMEOUT: Final = 30.0
"""The whole attempt (redirects included) never takes longer than this, in seconds, even
against a receiver that trickles its answer byte by byte."""
DEFAULT_LIMITS: Final = httpx.Limits(
    max_connections=100, max_keepalive_connections=20, keepalive_expiry=30.0
)
MAX_REDIRECTS: Final = 3
RESPONSE_SNIPPET_BYTES: Final = 300
"""How much of an error response's body goes into the outcome's ``detail``."""
_MAX_DRAIN_BYTES: Final = 64 * 1024
"""A successful response's body is read (so the connection can be reused) up to this."""

_FOLLOWED: Final = frozenset({301, 302, 307, 308})
_RETRYABLE_STATUS: Final = frozenset({408, 429})
_RETRY_AFTER_STATUS: Final = frozenset({429, 503})
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def _where(url: httpx.URL) -> str:
    """``host:port`` of a URL, without credentials, for details."""
    port = url.port or _DEFAULT_PORTS.get(url.scheme)
    return f"{url.host}:{port}" if port else url.host


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host.lower(), url.port or _DEFAULT_PORTS.get(url.scheme)


def redirect_allowed(origin: httpx.URL, target: httpx.URL) -> bool:
    """Whether a redirect from ``origin`` to ``target`` stays with the same receiver: same
    host and port and scheme, or an upgrade from ``http`` to ``https`` on the same host."""
    o_scheme, o_host, o_port = _origin(origin)
    t_scheme, t_host, t_port = _origin(target)
    if t_host != o_host:
        return False
    if t_scheme == o_scheme:
        return t_port == o_port
    return o_scheme == "http" and t_scheme == "https"


def _caused_by_refusal(exc: BaseException) -> bool:
    """Whether a connect error comes from a refused connection (somewhere in its chain)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ConnectionRefusedError) or "refused" in str(current).lower():
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _snippet(data: bytes) -> str:
    text = data[:RESPONSE_SNIPPET_BYTES].decode("utf-8", errors="replace")
    return " ".join(text.split())


async def _read_some(response: httpx.Response, limit: int) -> bytes:
    """Up to ``limit`` bytes of the body; a body that cannot be read counts as empty (the
    status has already answered the question)."""
    data = bytearray()
    try:
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) >= limit:
                break
    except httpx.HTTPError:
        pass
    return bytes(data[:limit])


class HttpSender:
    """Sends HTTP requests, one attempt per call, through one pooled async client.

    ``transport`` replaces the network (tests, or an ``httpx.AsyncHTTPTransport`` with
    special settings); ``now`` is the clock used for HTTP-date ``Retry-After`` values.
    """

    def __init__(
        self,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
        limits: httpx.Limits = DEFAULT_LIMITS,
        max_redirects: int = MAX_REDIRECTS,
        verify: bool | str = True,
        trust_env: bool = False,
        user_agent: str = USER_AGENT,
        transport: httpx.AsyncBaseTransport | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if total_timeout <= 0:
            raise ValueError(f"total_timeout must be positive, got {total_timeout}")
        if max_redirects < 0:
            raise ValueError(f"max_redirects must be >= 0, got {max_redirects}")
        self._total_timeout = total_timeout
        self._max_redirects = max_redirects
        self._now = now
        self._client = httpx.AsyncClient(
            timeout=timeout,
            limits=limits,
            follow_redirects=False,
            verify=verify,
            trust_env=trust_env,
            headers={"User-Agent": user_agent},
            transport=transport,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._client.aclose()

    async def send(self, request: NotificationRequest) -> DeliveryOutcome:
        """One attempt to deliver an NGSI-LD notification to its HTTP(S) endpoint."""
        return await self.post(
            request.uri, request.content(), request.headers, method=request.method
        )

    async def post(
        self,
        url: str,
        content: bytes,
        headers: Mapping[str, str],
        *,
        method: str = "POST",
    ) -> DeliveryOutcome:
        """One attempt to send ``content`` to ``url`` (redirects within the same receiver
        included); see the module docstring for the outcomes."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._total_timeout):
                outcome = await self._exchange(url, content, headers, method)
        except TimeoutError:
            outcome = DeliveryOutcome(
                "retryable", "timeout", f"no complete answer within {self._total_timeout:g} s"
            )
        return dataclasses.replace(outcome, duration=time.monotonic() - started)

    async def _exchange(
        self, url: str, content: bytes, headers: Mapping[str, str], method: str
    ) -> DeliveryOutcome:
        try:
            target = httpx.URL(url)
        except (httpx.InvalidURL, ValueError) as exc:
            return DeliveryOutcome("permanent", "invalid_endpoint", f"invalid URL: {exc}")
        if target.scheme not in _DEFAULT_PORTS or not target.host:
            return DeliveryOutcome(
                "permanent", "invalid_endpoint", "the endpoint is not an http(s) URL with a host"
            )
        for _hop in range(self._max_redirects + 1):
            try:
                request = self._client.build_request(
                    method, target, content=content, headers=dict(headers)
                )
            except (httpx.HTTPError, ValueError) as exc:
                return DeliveryOutcome(
                    "permanent", "invalid_endpoint", f"cannot build the request: {exc}"
                )
            try:
                response = await self._client.send(request, stream=True)
            except httpx.TimeoutException as exc:
                return DeliveryOutcome(
                    "retryable", "timeout", f"{type(exc).__name__} at {_where(target)}"
                )
            except httpx.ConnectError as exc:
                refused = _caused_by_refusal(exc)
                return DeliveryOutcome(
                    "retryable",
                    "connection_refused" if refused else "connect_error",
                    f"cannot connect to {_where(target)}: {exc}",
                )
            except httpx.UnsupportedProtocol as exc:
                return DeliveryOutcome("permanent", "invalid_endpoint", str(exc))
            except (httpx.HTTPError, OSError) as exc:
                return DeliveryOutcome(
                    "retryable",
                    "network_error",
                    f"{type(exc).__name__} talking to {_where(target)}: {exc}",
                )
            try:
                status = response.status_code
                if status in _FOLLOWED and "location" in response.headers:
                    location = response.headers["location"]
                    try:
                        next_target = target.join(location)
                    except (httpx.InvalidURL, ValueError):
                        next_target = None
                    if next_target is None or not redirect_allowed(target, next_target):
                        return DeliveryOutcome(
                            "permanent",
                            "redirect_refused",
                            f"HTTP {status} from {_where(target)} to another receiver "
                            f"({location[:200]}); correct the endpoint instead",
                            status,
                        )
                    await _read_some(response, _MAX_DRAIN_BYTES)
                    target = next_target
                    continue
                return await self._classify(target, response)
            finally:
                await response.aclose()
        return DeliveryOutcome(
            "permanent",
            "redirect_refused",
            f"more than {self._max_redirects} redirects from {_where(httpx.URL(url))}",
        )

    async def _classify(self, target: httpx.URL, response: httpx.Response) -> DeliveryOutcome:
        status = response.status_code
        if 200 <= status < 300:
            await _read_some(response, _MAX_DRAIN_BYTES)
            return DeliveryOutcome.success(status_code=status)
        body = _snippet(await _read_some(response, RESPONSE_SNIPPET_BYTES))
        detail = f"HTTP {status} from {_where(target)}" + (f": {body}" if body else "")
        retry_after = None
        if status in _RETRY_AFTER_STATUS:
            retry_after = parse_retry_after(response.headers.get("retry-after"), now=self._now())
        kind: OutcomeKind
        if status in _RETRYABLE_STATUS or 500 <= status < 600:
            kind = "retryable"
        elif 300 <= status < 400:
            kind, detail = "permanent", detail + " (redirect not followed)"
            return DeliveryOutcome(kind, "redirect_refused", detail, status)
        else:
            kind = "permanent"
        return DeliveryOutcome(kind, "http_status", detail, status, retry_after=retry_after)
