"""What a browser sees when a page route fails: a page in Chinese (English when asked), while
the API's clients keep the JSON error body."""

from __future__ import annotations

import pytest

from tests.api.conftest import auth

HTML = {"Accept": "text/html,application/xhtml+xml"}


@pytest.mark.parametrize(
    ("path", "params", "role", "status", "zh", "en"),
    [
        ("/maps/coverage", {}, "grid_worker", 403, "无权访问", "Not allowed"),
        ("/maps/nowhere", {}, "dispatcher", 404, "页面未找到", "Page not found"),
        ("/maps/density", {"level": "planet"}, "dispatcher", 422, "请求有误", "Invalid request"),
        ("/maps/density", {"status": "x" * 40}, "dispatcher", 422, "请求有误", "Invalid request"),
    ],
)
def test_a_failed_page_is_a_page_in_chinese_then_english(
    served, path, params, role, status, zh, en
):
    client, keys = served
    headers = {**auth(keys[role]), **HTML}
    chinese = client.get(path, params=params, headers=headers)
    assert chinese.status_code == status
    assert chinese.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in chinese.text
    assert f"<h1>{zh}</h1>" in chinese.text and en not in chinese.text

    by_query = client.get(path, params={**params, "lang": "en"}, headers=headers)
    by_browser = client.get(path, params=params, headers={**headers, "Accept-Language": "en-US"})
    for english in (by_query, by_browser):
        assert english.status_code == status
        assert f"<h1>{en}</h1>" in english.text and zh not in english.text

    api = client.get(path, params=params, headers=auth(keys[role]))  # no text/html: JSON
    assert api.status_code == status
    assert api.headers["content-type"].startswith("application/json")
    assert set(api.json()) == {"code", "message", "allowed", "details"}


def test_the_technical_message_is_escaped_on_the_page(served):
    client, keys = served
    page = client.get(
        "/maps/density",
        params={"level": "<script>x</script>"},
        headers={**auth(keys["dispatcher"]), **HTML},
    )
    assert page.status_code == 422
    assert "<script>x" not in page.text and "&lt;script&gt;" in page.text


def test_a_browser_without_a_session_still_goes_to_sign_in(served):
    client, _ = served
    answer = client.get("/maps/density", headers=HTML, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/signin?next=")


def test_api_routes_keep_json_even_for_a_browser(served):
    client, keys = served
    answer = client.get("/nowhere", headers={**auth(keys["dispatcher"]), **HTML})
    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"
