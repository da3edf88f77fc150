"""A pure ASGI middleware that refuses request bodies above a size, before reading them whole."""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException

from api.errors import error_body


class BodySizeLimit:
    """Answer 413 when Content-Length or the streamed body exceeds ``max_bytes``."""

    def __init__(self, app: Any, max_bytes: int, max_upload_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes or max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        upload = headers.get(b"content-type", b"").startswith(b"multipart/form-data")
        limit = self.max_upload_bytes if upload else self.max_bytes
        allowed = (
            f"at most {limit} bytes ("
            + ("photos plus form fields" if upload else "WANGGE_MAX_BODY_BYTES")
            + ")"
        )
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await self._refuse(send, allowed)
            return
        seen = 0

        async def limited_receive() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # raised inside the app, so the app's handler answers 413 in the usual shape
                    raise HTTPException(413, "request body is larger than allowed")
            return message

        await self.app(scope, limited_receive, send)

    async def _refuse(self, send: Any, allowed: str) -> None:
        body = json.dumps(
            error_body("body_too_large", "request body is larger than allowed", allowed)
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
