"""The staff console's menu shows each role only what it may open, on SQLite and PostgreSQL: for every
staff role (operator, risk officer, regulator, admin, and a merchant's key) each menu link on every page
the menu leads to answers 200 — the menu is drawn from the pages' own role check, so no link leads to a
403 — and a page the role may not open is not in its menu."""

from __future__ import annotations

import re

import pytest

from puhui.console.ops_actions import ACTION_ROLES

from .staff_world import ADMIN_TOKEN, add_staff, demo, log_in, token_of  # noqa: F401 - the fixture

MENU = re.compile(r'<nav class="tabs staff-tabs"[^>]*>(.*?)</nav>', re.S)
LINK = re.compile(r'href="([^"]+)"')


def menu_of(html: str) -> list[str]:
    found = MENU.search(html)
    assert found is not None, "no staff menu on the page"
    return LINK.findall(found.group(1))


def token_for(client, world, role: str) -> str:  # type: ignore[no-untyped-def]
    if role == "admin":
        return ADMIN_TOKEN
    if role == "merchant":
        return world.merchants[0]["api_key"]
    if role == "operator":
        return add_staff(client, "operator", "op.menu")
    return token_of(world, role)


@pytest.mark.parametrize("role", ["operator", "risk_officer", "regulator", "admin", "merchant"])
def test_every_menu_link_answers_for_the_role(demo, role: str) -> None:  # type: ignore[no-untyped-def]
    client, world = demo
    signed_in = log_in(client, token_for(client, world, role))
    home = signed_in.headers["location"]
    seen: dict[str, int] = {}
    to_visit = [home]
    while to_visit:  # every menu of every page the menu leads to
        path = to_visit.pop()
        answer = client.get(path)
        seen[path] = answer.status_code
        if answer.status_code != 200:
            continue
        for href in menu_of(answer.text):
            if href not in seen and href not in to_visit:
                to_visit.append(href)
    assert {path: status for path, status in seen.items() if status != 200} == {}, role
    assert len(seen) >= 5, seen
    if role == "risk_officer":  # the pages a risk officer may not open are not offered
        assert "/ops/audit" not in seen and "/ops/claims" in seen and "/ops/reviews" in seen


OVERVIEW = re.compile(r'<section[^>]*id="ops-pages"[^>]*>(.*?)</section>', re.S)


@pytest.mark.parametrize("role", ["operator", "risk_officer", "admin"])
def test_the_overview_lists_the_menus_pages_and_the_staff_actions(demo, role: str) -> None:  # type: ignore[no-untyped-def]
    """The /ops overview lists the pages of the role's menu (one list, so the claims review is on it too)
    and the staff actions, each one the role may open."""
    client, world = demo
    log_in(client, token_for(client, world, role))
    page = client.get("/ops")
    assert page.status_code == 200, page.text
    found = OVERVIEW.search(page.text)
    assert found is not None, "no page list on the overview"
    listed = LINK.findall(found.group(1))
    actions = ["/ops/actions"] if role in ACTION_ROLES else []  # operators' and administrators'
    assert [href for href in menu_of(page.text) if href != "/ops"] + actions == listed, role
    assert "/ops/claims" in listed
    assert all(client.get(href).status_code == 200 for href in listed), role
