"""The dispatcher's live screen: the change feed of cases (read from the database, so every
worker answers the same), the queue panel, and what a case's popup offers."""

from api.live.feed import changes, feed_head, read_changes
from api.live.popup import case_actions, search_units
from api.live.queue import queue
from api.live.stream import stream_changes

__all__ = [
    "case_actions",
    "changes",
    "feed_head",
    "queue",
    "read_changes",
    "search_units",
    "stream_changes",
]
