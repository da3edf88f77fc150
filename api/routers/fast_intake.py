"""POST /reports with a JSON body and an API key, answered straight from ASGI.

Intake is the one route under sustained load (every resident's and worker's report, and the
hotline systems' batches), and FastAPI's stack costs more than the report's own work there:
eight middleware layers, a match against every router, a Request, dependency resolution, a
Response and its wrapped ``send``. :class:`FastIntake` answers the common case itself with the
same services the route uses (the key cache, the rate limiter, ``Cases.submit_async``):

- a JSON body with a Content-Length within WANGGE_MAX_BODY_BYTES, no query string;
- a key in Authorization (Bearer) or X-API-Key that the key cache knows, of a role that may
  report, within its rate limit;
- a body that ``ReportIn`` accepts, of a known category, and a valid Idempotency-Key (or none).

Anything else (a multipart form with photos, a browser's session, an unknown or revoked key, a
body or header to refuse, a key over its limit) goes, body and all, to the FastAPI route
(``api.routers.reports.create_report``), which answers it exactly as before: every error in the
service's usual shape, from one place. Nothing is charged or written before that choice is
made. Errors after it (an Idempotency-Key reused with another body) are answered by the
application's own exception handlers.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from starlette.requests import Request

from api.cases.intake import Submission
from api.routers.reports import CASE_READERS, MAX_IDEMPOTENCY_KEY
from api.schemas import ReportIn

if TYPE_CHECKING:
    from fastapi import FastAPI

    from api.access.keys import KeyStore
    from api.cases.service import Cases

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

PATH = "/reports"
_JSON = b"application/json"
_HEADERS = (b"content-type", _JSON)
#: The request headers the fast intake reads.
_READ = frozenset(
    (b"authorization", b"x-api-key", b"content-type", b"content-length", b"idempotency-key")
)


class FastIntake:
    """The intake route for the common case; ``fallback`` (the whole FastAPI stack) for the
    rest. ``app`` holds the started services in its state."""

    def __init__(self, app: FastAPI, fallback: ASGIApp) -> None:
        state = app.state
        self._app = app
        self._fallback = fallback
        self._cases: Cases = state.cases
        self._keys: KeyStore = state.keys
        self._limiter = state.rate_limiter
        self._max_body = int(state.settings.max_body_bytes)
        self._roles = frozenset(CASE_READERS)
        #: Requests answered here, and passed on to the route (what the tests check).
        self.answered = 0
        self.passed_on = 0

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        sent: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name in _READ:
                sent.setdefault(name, value)  # the first of each, as Starlette reads them
        authorization, api_key = sent.get(b"authorization"), sent.get(b"x-api-key")
        content_type, length = sent.get(b"content-type"), sent.get(b"content-length")
        idempotency_key = sent.get(b"idempotency-key")
        # the key as api.access.auth reads it: a Bearer token first, else X-API-Key
        key: bytes | None = api_key
        if authorization is not None and authorization[:7].lower() == b"bearer ":
            key = authorization[7:].strip()
        if (
            not key
            or content_type is None
            or not content_type.startswith(_JSON)
            or length is None
            or not length.isdigit()
            or int(length) > self._max_body
            or scope.get("query_string")
        ):
            await self._pass_on(scope, receive, send)
            return
        # the body, kept as received so that the fallback can be given it again
        messages: list[Message] = []
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return await self._pass_on(scope, _replay(messages, receive), send)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._max_body:
                return await self._pass_on(scope, _replay(messages, receive), send)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        submission, principal, idempotency = self._admit(b"".join(chunks), key, idempotency_key)
        if submission is None:
            return await self._pass_on(scope, _replay(messages, receive), send)
        self.answered += 1
        try:
            receipt = await self._cases.submit_async(principal, submission, idempotency)
        except Exception as exc:
            return await self._handled(exc, scope, _replay(messages, receive), send)
        body = receipt.json()
        headers = [
            _HEADERS,
            (b"content-length", str(len(body)).encode()),
            (b"location", b"/reports/%d" % receipt.body["id"]),
        ]
        if receipt.replayed:
            headers.append((b"idempotent-replayed", b"true"))
        await send(
            {"type": "http.response.start", "status": receipt.status_code, "headers": headers}
        )
        await send({"type": "http.response.body", "body": body})

    async def _pass_on(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        self.passed_on += 1
        await self._fallback(scope, receive, send)

    def _admit(
        self, body: bytes, key: bytes, idempotency_key: bytes | None
    ) -> tuple[Any, Any, str | None]:
        """The submission, principal and Idempotency-Key when this request is the common case
        (its key's rate then charged), else (None, None, None): nothing charged."""
        hit, principal = self._keys.cached(key.decode("latin-1"))
        if not hit or principal is None or principal.role not in self._roles:
            return None, None, None
        idempotency = None
        if idempotency_key is not None:
            idempotency = idempotency_key.decode("latin-1")
            if len(idempotency) > MAX_IDEMPOTENCY_KEY:
                return None, None, None
        try:
            report = ReportIn.model_validate_json(body)
        except ValidationError:
            return None, None, None
        if report.category not in self._cases.categories:
            return None, None, None
        if self._limiter.allow(principal.key_id) > 0:
            return None, None, None  # the route answers 429 (a refused request is not counted)
        return Submission(**report.model_dump()), principal, idempotency

    async def _handled(
        self, exc: Exception, scope: MutableMapping[str, Any], receive: Receive, send: Send
    ) -> None:
        """Answer an error as the application's exception handlers do."""
        handlers = self._app.exception_handlers
        for cls in type(exc).__mro__:
            handler = handlers.get(cls)
            if handler is not None:
                response = handler(Request(scope, receive), exc)
                if inspect.isawaitable(response):
                    response = await response
                await response(scope, receive, send)
                return
        raise exc


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` giving the messages already read first, then the connection's own."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
