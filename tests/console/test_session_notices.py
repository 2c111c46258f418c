"""Why the log-in page appears: a customer whose session ended (logged out elsewhere, expired, a token no
longer valid) is told so on it, not just shown the form; a visitor who never logged in is not."""

from __future__ import annotations

from .conftest import customer_id_of, sign_up

ENDED = "登录已失效，请重新登录。"


def test_a_session_ended_elsewhere_sends_the_customer_to_log_in_saying_why(client) -> None:  # type: ignore[no-untyped-def]
    assert sign_up(client, 61).status_code == 303
    customer = customer_id_of(client)
    token = client.cookies.get("puhui_session")
    ended = client.post(f"/v1/customers/{customer}/logout", headers={"Authorization": f"Bearer {token}"})
    assert ended.status_code in (200, 204), ended.text
    page = client.get("/app/cards", follow_redirects=False)  # the cookie is still there; its session is not
    assert page.status_code == 303 and page.headers["location"].startswith("/app/login")
    assert ENDED in client.get(page.headers["location"]).text


def test_a_token_no_longer_valid_says_so_and_a_visitor_is_not_told_anything(client) -> None:  # type: ignore[no-untyped-def]
    client.cookies.set("puhui_session", "not-a-token")
    page = client.get("/app", follow_redirects=False)
    assert page.status_code == 303 and ENDED in client.get(page.headers["location"]).text
    client.cookies.clear()
    visitor = client.get("/app", follow_redirects=False)
    assert visitor.status_code == 303 and ENDED not in client.get(visitor.headers["location"]).text
