"""`puhui console screenshots`: PNGs of the console's main pages (界面截图) in Chinese and English.

The app is started on a fresh demo world, as the browser tests do: a temporary SQLite database, the
demo seeded through the API, a live uvicorn on a free port. Debian's chromium (driven by Playwright, a
dev dependency) signs in as a demo customer, a merchant, the risk officer and the regulator, switches
the language with the pages' own switch and saves each page at its viewport (375 px wide for the
customer app, 1280 px for the staff consoles). Without Playwright or chromium the command says so and
exits with status 2.
"""

from __future__ import annotations

import base64
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

CHROMIUM = Path("/usr/bin/chromium")
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
LANGUAGES = ("zh_CN", "en")


@dataclass(frozen=True)
class Shot:
    """One main page to photograph, and who looks at it (customer, merchant, risk_officer, regulator)."""

    path: str
    viewer: str

    @property
    def name(self) -> str:
        return self.path.strip("/").replace("/", "-")

    @property
    def viewport(self) -> dict[str, int]:
        return PHONE if self.viewer == "customer" else DESKTOP


SHOTS = (
    Shot("/app", "customer"),
    Shot("/app/fund", "customer"),
    Shot("/app/credit", "customer"),
    Shot("/app/securities", "customer"),
    Shot("/app/funds", "customer"),
    Shot("/app/suitability", "customer"),
    Shot("/merchant", "merchant"),
    Shot("/ops", "risk_officer"),
    Shot("/ops/reviews", "risk_officer"),
    Shot("/ops/actions", "admin"),  # NAV upload and end-of-day runs: the API lets operators and admins
    Shot("/ops/ledger", "admin"),  # the ledger explorer is the administrator's
    Shot("/supervision", "regulator"),
    Shot("/supervision/cases", "regulator"),
)

app = typer.Typer(no_args_is_help=True, help="The web console (客户端、商户、运营、监管).")


class PageRefused(Exception):
    """A page to photograph answered with an error status (页面打不开): no picture of an error page."""


class BrowserMissing(Exception):
    """Playwright or Debian's chromium is not installed (截图需要浏览器)."""


def need_browser() -> None:
    """Raise BrowserMissing with what to install when the screenshots cannot be taken."""
    if not CHROMIUM.exists():
        raise BrowserMissing(f"{CHROMIUM} is missing: apt-get install -y chromium fonts-noto-cjk")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as missing:
        raise BrowserMissing("Playwright is missing: pip install -e '.[dev]'") from missing


@app.command("screenshots")
def screenshots(
    out: Path = typer.Option(Path("docs/screenshots"), "--out", help="Folder for the PNG files."),
    page: list[str] = typer.Option(
        [], "--page", help="Only these pages (e.g. --page /app); every main page when left out."
    ),
) -> None:
    """Save a PNG of each main page of the four consoles, in zh_CN and en, on a fresh demo world."""
    try:
        need_browser()
    except BrowserMissing as missing:
        typer.echo(f"screenshots need a browser: {missing}", err=True)
        raise typer.Exit(2) from None
    chosen = [s for s in SHOTS if not page or s.path in page]
    unknown = sorted(set(page) - {s.path for s in SHOTS})
    if unknown:
        typer.echo(f"unknown page(s): {', '.join(unknown)}; known: {', '.join(s.path for s in SHOTS)}", err=True)
        raise typer.Exit(2)
    written = take(out, chosen)
    for path in written:
        typer.echo(str(path))


def take(out: Path, shots: Sequence[Shot] = SHOTS) -> list[Path]:
    """Photograph `shots` in both languages into `out`; the files written, `<page>.<lang>.png`."""
    out.mkdir(parents=True, exist_ok=True)
    with demo_server() as (url, logins):
        from playwright.sync_api import sync_playwright

        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
            try:
                return [
                    path
                    for viewer in dict.fromkeys(s.viewer for s in shots)
                    for path in _shoot_as(browser, url, logins[viewer], [s for s in shots if s.viewer == viewer], out)
                ]
            finally:
                browser.close()


def _shoot_as(browser: Any, url: str, login: dict[str, str], shots: list[Shot], out: Path) -> list[Path]:
    """Sign one viewer in, then each page in each language (switched with the page's own buttons)."""
    context = browser.new_context(viewport=shots[0].viewport, locale="zh-CN", base_url=url)
    written = []
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        _sign_in(page, login)
        for lang in LANGUAGES:
            for shot in shots:
                _open(page, shot.path)
                if page.get_attribute("html", "lang") != lang.replace("_", "-"):
                    page.locator(f"form.lang button[value='{lang}']").click()
                    page.wait_for_load_state()
                    _open(page, shot.path)  # without the switch's "language changed" note
                target = out / f"{shot.name}.{lang}.png"
                page.screenshot(path=str(target))
                written.append(target)
    finally:
        context.close()
    return written


def _open(page: Any, path: str) -> None:
    answer = page.goto(path)
    if answer is None or answer.status >= 400:
        raise PageRefused(f"{path} answered {answer.status if answer else 'nothing'}")


def _sign_in(page: Any, login: dict[str, str]) -> None:
    """The customer's log-in form (phone and password) or the staff form (a token)."""
    if "phone" in login:
        page.goto("/app/login")
        page.fill("input[name=phone]", login["phone"])
        page.fill("input[name=password]", login["password"])
        page.locator("main button[type=submit]").first.click()
        page.wait_for_url("**/app")
    else:
        page.goto("/staff/login")
        page.fill("input[name=token]", login["token"])
        page.locator("main button[type=submit]").first.click()
        page.wait_for_load_state()


def demo_settings() -> Any:
    """Sandbox settings with fresh secrets, background checks off (the pages are what is shown)."""
    from puhui.settings import Settings

    def key() -> str:
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()

    return Settings(
        admin_token=secrets.token_urlsafe(24),
        pii_keys=f"k1:{key()}",
        pii_index_key=key(),
        jwt_secret=secrets.token_urlsafe(48),
        sandbox=True,
        sandbox_bank_delay_seconds=0,
        auth_rate_per_minute=0,
        monitoring=False,
        fraud_checks=False,
        merchant_notifications=False,
    )


@contextmanager
def demo_server() -> Iterator[tuple[str, dict[str, dict[str, str]]]]:
    """A demo world on a temporary SQLite database served by uvicorn on a free port: (url, logins by viewer)."""
    import uvicorn

    from puhui.app import create_app
    from puhui.db import create_engine_from_url
    from puhui.db.migrate import upgrade
    from puhui.demo import seed_demo_world

    folder = tempfile.mkdtemp(prefix="puhui-screenshots-")
    engine = create_engine_from_url(f"sqlite:///{Path(folder) / 'demo.db'}")
    try:
        upgrade(engine)
        chosen = demo_settings()
        world = seed_demo_world(engine, chosen)
        customer = world.customers[0]
        logins = {
            "customer": {"phone": customer["phone"], "password": customer["password"]},
            "merchant": {"token": world.merchants[0]["api_key"]},
            **{s["role"]: {"token": s["token"]} for s in world.staff},
            "admin": {"token": chosen.admin_token},
        }
        server = uvicorn.Server(
            uvicorn.Config(create_app(engine, chosen), host="127.0.0.1", port=_free_port(), log_level="warning")
        )
        thread = threading.Thread(target=server.run, name="screenshots-server", daemon=True)
        thread.start()
        try:
            _wait_started(server, thread)
            yield f"http://127.0.0.1:{server.config.port}", logins
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    finally:
        engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_started(server: Any, thread: threading.Thread) -> None:
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the screenshots server did not start")
        time.sleep(0.05)
