"""Browser fixtures for the staff pages: the demo world served live (the platform clock is the test's
manual clock, so a business date can end), and Debian's chromium at a desktop's width recording every
console error, failed request, 4xx/5xx answer and request to another origin."""

from __future__ import annotations

import httpx
import pytest

from puhui.demo import seed_demo_world

from .live import CHROMIUM, need_chromium, serving
from .staff_world import staff_settings

DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def live(engine, clock):  # type: ignore[no-untyped-def]
    need_chromium()
    chosen = staff_settings()
    world = seed_demo_world(engine, chosen)
    with serving(engine, chosen) as url:
        yield url, world


@pytest.fixture
def browser_page(live):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    url, _ = live
    problems: list[str] = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        context = browser.new_context(viewport=DESKTOP, locale="zh-CN", base_url=url, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(30_000)  # a loaded 2-core CI machine: a first page can take over 10 s
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}"))
        page.on("response", lambda r: problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None)
        page.on("request", lambda r: None if r.url.startswith((url, "data:")) else problems.append(f"external {r.url}"))
        yield page, problems
        context.close()
        browser.close()


def api(live, method: str, path: str, **kwargs):  # type: ignore[no-untyped-def]
    return httpx.request(method, live[0] + path, timeout=30, **kwargs)  # the live server shares a busy machine


def sign_in(page, token: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/staff/login")
    page.get_by_label("令牌").fill(token)
    page.get_by_role("button", name="登录").click()
