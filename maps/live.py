"""The live parts of the density page: the CSRF token and feed cursor in its head, the queue
panel's container and the live script (``maps/static/wangge/live.js``)."""

from __future__ import annotations

import html

#: Where the page says which event it was built after (the stream starts there).
CURSOR_META = "wangge-live-cursor"


def with_live_panel(
    page: str,
    *,
    csrf_token: str,
    cursor: int,
    asset_base: str,
    analytics: str | None = None,
) -> str:
    """The page with its live parts: meta tags and stylesheet in the head, the queue panel
    and live.js at the end of the body (after the map's own script); ``analytics``: the
    level whose hot spots the page shows (analytics.js asks only then), None for none.

    Example
    -------
    >>> out = with_live_panel("<html><head></head><body></body></html>", csrf_token="t",
    ...                       cursor=7, asset_base="/static/maps")
    >>> '<meta name="csrf-token" content="t">' in out and 'id="queue"' in out
    True
    """
    base = html.escape(asset_base.rstrip("/"), quote=True)
    head = (
        f'<meta name="csrf-token" content="{html.escape(csrf_token, quote=True)}">'
        f'<meta name="{CURSOR_META}" content="{int(cursor)}">'
        f'<meta name="wangge-analytics" content="{"on" if analytics else "off"}"'
        f' data-level="{html.escape(analytics or "", quote=True)}">'
        f'<link rel="stylesheet" href="{base}/wangge/live.css">'
    )
    body = (
        '<aside id="queue" class="wg-queue" aria-live="polite"></aside>'
        f'<script src="{base}/wangge/live.js"></script>'
    )
    page = page.replace("</head>", head + "</head>", 1)
    at = page.rfind("</body>")
    return page[:at] + body + page[at:] if at >= 0 else page + body
