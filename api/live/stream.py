"""The live stream: the change feed polled from the database and handed out as events, for
as long as the caller stays signed in."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from api.access.policy import Principal
from api.live.schemas import ChangePage

#: Seconds between two reads of the database.
POLL_S = 0.5
#: Seconds a stream lasts at most; the browser reconnects and resumes from its last event.
MAX_STREAM_S = 15 * 60


async def stream_changes(
    cursor: int,
    read: Callable[[Principal, int], Awaitable[ChangePage]],
    recheck: Callable[[], Awaitable[Principal | None]],
    disconnected: Callable[[], Awaitable[bool]],
    *,
    poll_s: float = POLL_S,
    max_s: float = MAX_STREAM_S,
) -> AsyncIterator[dict[str, Any]]:
    """Server-sent events (``{"id", "event", "data"}``): one ``change`` per event after
    ``cursor``, its id the event's, so a reconnecting browser's Last-Event-ID resumes without
    a gap; ``cursor`` when only events the caller may not see went by. The caller is checked
    again before every read: a signed-out session or a revoked key ends the stream."""
    deadline = time.monotonic() + max_s
    while time.monotonic() < deadline and not await disconnected():
        principal = await recheck()
        if principal is None:
            yield {"event": "end", "data": "signed out"}
            return
        page = await read(principal, cursor)
        for change in page.items:
            yield {"id": str(change.event_id), "event": "change", "data": change.model_dump_json()}
        last = page.items[-1].event_id if page.items else cursor
        if page.next_event > last:
            yield {"id": str(page.next_event), "event": "cursor", "data": str(page.next_event)}
        cursor = page.next_event
        if not page.more:
            await asyncio.sleep(poll_s)
