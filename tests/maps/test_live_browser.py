"""The live density page in Debian's chromium against a real `wangge serve`: a case posted
through the API appears on an open page within 5 s, a dispatcher escalates a case from its
popup and a second open page sees the change, the queue panel flies to a case, and a write
without the page's CSRF token or from another origin is refused; no request leaves
127.0.0.1 and no console error."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.api.process import new_key, running_server
from tests.maps.browser import (
    LOCAL_HOSTS,
    MAP_READY,
    WAIT_S,
    Browser,
    PageVisit,
    chromium_missing,
    serve_asgi,
    static_app,
)

LIVE = MAP_READY + " && document.querySelector('#queue[data-live=\"open\"]') !== null"
IN_M1 = {"lon": 117.202, "lat": 39.102, "crs": "wgs84", "category": "noise"}
OUTSIDE = {"lon": 117.5, "lat": 39.3, "crs": "wgs84", "category": "rubbish"}

pytestmark = pytest.mark.skipif(
    chromium_missing() is not None and os.environ.get("CI") != "true",
    reason=str(chromium_missing()),
)


@pytest.fixture(scope="module")
def env(tiny_gpkg: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {
        **os.environ,
        "WANGGE_BOUNDARIES": str(tiny_gpkg),
        "WANGGE_DATA_DIR": str(tmp_path_factory.mktemp("data")),
        "WANGGE_SESSION_SECRET": "live page tests",
    }


@pytest.fixture(scope="module")
def keys(env: dict[str, str]) -> dict[str, str]:
    return {role: new_key(env, role) for role in ("dispatcher", "reporter", "planner")}


@pytest.fixture(scope="module")
def base(env: dict[str, str], keys: dict[str, str]) -> Iterator[str]:
    with running_server(env) as url:
        yield url


def signed_in(browser: Browser, base: str, key: str, query: str = ""):
    """The density page (``query``: its own, escaped) in a browser signed in with ``key``,
    once its stream is open."""
    visit = browser.open(f"{base}/signin?next=/maps/density{query}")
    visit.page.fill("#key", key)
    visit.page.click("button[type=submit]")
    visit.wait_until(LIVE)
    return visit


def post_case(base: str, key: str, body: dict) -> int:
    response = httpx.post(f"{base}/reports", json=body, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def status_of(base: str, key: str, report: int) -> str:
    response = httpx.get(f"{base}/reports/{report}", headers={"Authorization": f"Bearer {key}"})
    return str(response.json()["status"])


def live_marker(report: int) -> str:
    """The live.js marker of a case (a JavaScript expression)."""
    return f"wangge.live.layer.getLayers().find(m => m.options.wgCaseId === {report})"


def in_queue(section: str, report: int) -> str:
    """Whether the queue panel lists the case in ``section`` (a JavaScript expression)."""
    selector = f'#queue [data-section="{section}"] [data-case-id="{report}"]'
    return f"document.querySelector({json.dumps(selector)}) !== null"


#: The density map's own marker of a case, if it drew one (a JavaScript function of the id).
PAGE_MARKER = """(id) => {
    for (const entry of Object.values(wangge.maps))
        for (const layer of Object.values(entry.layers))
            if (layer && layer.getLayers)
                for (const m of layer.getLayers())
                    if (m.options.caseRow && m.options.caseRow[2] === id) return [layer, m];
    return null;
}"""


def second_page(visit: PageVisit) -> PageVisit:
    """Another page in the same chromium, in a context of its own (its own session), guarded
    like the first: nothing but 127.0.0.1, console and errors recorded."""
    context = visit.page.context.browser.new_context(service_workers="block")
    context.set_default_timeout(WAIT_S * 1000)
    page = context.new_page()
    other = PageVisit(page)

    def guard(route: Any, request: Any) -> None:
        if urlsplit(request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            other.blocked.append(request.url)
            route.abort("blockedbyclient")

    context.route("**/*", guard)
    page.on("console", lambda m: other.console.append((m.type, m.text)))
    page.on("pageerror", lambda e: other.page_errors.append(str(e)))
    page.on("response", lambda r: other.failed.append(r.url) if r.status >= 400 else None)
    return other


def sign_in_page(visit: PageVisit, base: str, key: str) -> PageVisit:
    visit.page.goto(f"{base}/signin?next=/maps/density")
    visit.page.fill("#key", key)
    visit.page.click("button[type=submit]")
    visit.wait_until(LIVE)
    return visit


def test_a_new_case_appears_within_5_s(browser, base, keys):
    visit = signed_in(browser, base, keys["dispatcher"])
    started = time.monotonic()
    report = post_case(base, keys["reporter"], IN_M1)
    visit.wait_until(
        f"wangge.live.cases[{report}] !== undefined && {live_marker(report)} !== undefined",
        timeout_s=5,
    )
    assert time.monotonic() - started < 5
    assert visit.evaluate(f"wangge.live.cases[{report}].category_zh") == "噪音扰民"
    # the queue panel is in Chinese and lists a case from outside the area after it arrives
    outside = post_case(base, keys["reporter"], OUTSIDE)
    visit.wait_until(in_queue("unassigned", outside), timeout_s=5)
    panel = visit.page.inner_text("#queue")
    assert "待办队列" in panel and "未派单" in panel and "垃圾堆放" in panel
    # a click on the queue item flies to the case and opens its popup with its actions
    visit.page.click(f'#queue [data-case-id="{outside}"]')
    text = visit.popup_text(f"案件 {outside}")
    assert "垃圾堆放" in text
    visit.page.locator(
        f'.wg-live-actions[data-case-id="{outside}"] .wg-live-action'
    ).first.wait_for()
    visit.assert_clean()


def test_escalating_from_the_popup_shows_on_a_second_page(browser, base, keys):
    report = post_case(base, keys["reporter"], IN_M1)
    watcher = signed_in(browser, base, keys["dispatcher"])
    visit = sign_in_page(second_page(watcher), base, keys["dispatcher"])
    try:
        # the case was on the page already (drawn by the density map); its popup gets actions
        visit.wait_until(f"({PAGE_MARKER})({report}) !== null")
        visit.evaluate(
            f"""() => {{
                const [layer, m] = ({PAGE_MARKER})({report});
                if (layer.zoomToShowLayer) layer.zoomToShowLayer(m, () => m.openPopup());
                else m.openPopup();
            }}"""
        )
        actions = f'.wg-live-actions[data-case-id="{report}"]'
        visit.page.locator(f'{actions} [data-action="escalated-parent"]').click()
        done = visit.page.locator(f"{actions} .wg-live-result.wg-live-ok")
        done.wait_for()
        assert "已吹哨上报" in done.inner_text()
        assert status_of(base, keys["dispatcher"], report) == "escalated"
        # the other page hears it through its stream: the case and the queue's escalated list
        seen = f"wangge.live.cases[{report}]"
        watcher.wait_until(f"{seen} && {seen}.status === 'escalated'", timeout_s=5)
        watcher.wait_until(in_queue("escalated", report), timeout_s=5)
        assert watcher.evaluate(f"{seen}.unit_code") == "G1"
        watcher.assert_clean()
        visit.assert_clean()
    finally:
        visit.page.context.close()


def test_writes_without_the_token_or_from_elsewhere_are_refused(browser, base, keys):
    report = post_case(base, keys["reporter"], IN_M1)
    visit = signed_in(browser, base, keys["dispatcher"])
    script = """async ([url, token]) => {
        const headers = {"Content-Type": "application/json"};
        if (token !== null) headers["X-CSRF-Token"] = token;
        const r = await fetch(url, {method: "POST", headers, credentials: "same-origin",
                                    body: JSON.stringify({to: "accepted"})});
        return [r.status, (await r.json()).code];
    }"""
    url = f"{base}/reports/{report}/transitions"
    assert visit.evaluate(script, [url, None]) == [403, "csrf_token_required"]
    assert visit.evaluate(script, [url, "not-the-token"]) == [403, "csrf_token_invalid"]
    assert status_of(base, keys["dispatcher"], report) == "assigned"
    # the page's own token works
    token = visit.evaluate("document.querySelector('meta[name=\"csrf-token\"]').content")
    assert token and visit.evaluate(script, [url, token])[0] == 200
    assert status_of(base, keys["dispatcher"], report) == "accepted"
    # a page of another origin (another port of 127.0.0.1: the same site, so the cookie goes
    # along) posting the classic forged request: the browser sends no token, nothing changes
    report = post_case(base, keys["reporter"], IN_M1)
    attack = f"""<!doctype html><html><body><script>
      fetch("{base}/reports/{report}/transitions", {{method: "POST", mode: "no-cors",
        credentials: "include", headers: {{"Content-Type": "text/plain"}},
        body: JSON.stringify({{to: "accepted"}})}}).then(() => document.body.dataset.sent = "yes");
    </script></body></html>"""
    with serve_asgi(static_app({"/attack.html": attack}, {})) as elsewhere:
        page = visit.page.context.new_page()
        page.goto(f"{elsewhere}/attack.html")
        page.wait_for_function("document.body.dataset.sent === 'yes'")
        page.close()
    assert status_of(base, keys["dispatcher"], report) == "assigned"


#: The page's count of grid G1 (M1 lies in it), as its choropleth holds it.
G1_COUNT = (
    "(() => { const u = wangge.last.layers.choropleth.wgUnits;"
    " return u.count[u.code.indexOf('G1')]; })()"
)
G1_COLOUR = (
    "(() => { const g = wangge.last.layers.choropleth; const i = g.wgUnits.code.indexOf('G1');"
    " return g.getLayers().find(l => l.options.unit === i).options.fillColor; })()"
)


def test_the_choropleth_counts_new_cases_as_they_come(browser, base, keys):
    # a planner's page: no case markers, but the counts per unit follow
    visit = signed_in(browser, base, keys["planner"])
    before = visit.evaluate(G1_COUNT)
    for _ in range(3):
        post_case(base, keys["reporter"], IN_M1)
    visit.wait_until(f"{G1_COUNT} === {before + 3}", timeout_s=5)
    colours = visit.evaluate("wangge.last.layers.choropleth.wgColors")
    assert visit.evaluate(G1_COLOUR) == colours[-1]  # the most cases of the page: top class
    assert visit.evaluate("wangge.live.layer.getLayers().length") == 0
    visit.assert_clean()


def test_a_filtered_choropleth_counts_only_what_it_selects(browser, base, keys):
    visit = signed_in(browser, base, keys["dispatcher"], "%3Fcategory%3Drubbish")
    before = visit.evaluate(G1_COUNT)
    post_case(base, keys["reporter"], IN_M1)  # noise: not on this page
    post_case(base, keys["reporter"], {**IN_M1, "category": "rubbish"})
    visit.wait_until(f"wangge.live.recounted >= 1 && {G1_COUNT} > {before}", timeout_s=5)
    # the noise case came first in the stream and was not counted
    assert visit.evaluate(G1_COUNT) == before + 1
    visit.assert_clean()
