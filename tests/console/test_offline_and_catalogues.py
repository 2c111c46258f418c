"""The console needs no network and speaks both languages: no page or static asset names an external
URL (no CDN, no web font), every message a template or page asks for has a Chinese translation, and
amounts are formatted with the currency in the locale."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from puhui.console import i18n, render
from puhui.console.routes import ASSETS

from .conftest import sign_up

EXTERNAL = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}|\burl\(\s*['"]?(?:https?:)?//""", re.I)
CONSOLE = Path(render.TEMPLATES).parent
MESSAGE = re.compile(r"""(?:\b_|gettext)\(\s*(["'])((?:(?!\1).)+)\1\s*[,)]""")
DYNAMIC = re.compile(r"""\b_\(\s*"([a-z]+:)"\s*~""")


def test_no_page_or_asset_references_an_external_url(client) -> None:  # type: ignore[no-untyped-def]
    pages = ["/app/login", "/app/register", "/app/no-such-page"]
    sign_up(client, 21)
    pages += ["/app", "/app/cards", "/app/top-up", "/app/withdraw", "/app/pay", "/app/transfer", "/app/bills"]
    pages += ["/app/fund/PH0001", "/app/me"]
    for url in pages:
        page = client.get(url)
        assert page.status_code in (200, 404), url
        assert not EXTERNAL.search(page.text), (url, EXTERNAL.search(page.text))
        for asset in re.findall(r'(?:src|href)="([^"]+)"', page.text):
            assert asset.startswith(("/", "#", "data:")), (url, asset)
    for name in ASSETS:
        served = client.get(f"/console/static/{name}")
        assert served.status_code == 200 and not EXTERNAL.search(served.text), name
    assert client.get("/console/static/../routes.py").status_code == 404
    assert client.get("/console/static/routes.py").status_code == 404


def test_the_scanner_finds_an_external_url_when_there_is_one() -> None:
    for bad in (
        '<link href="https://cdn.example.com/x.css">',
        "@import url(//fonts.example.org/a)",
        '<script src="//x.cn/a.js">',
    ):
        assert EXTERNAL.search(bad), bad
    assert not EXTERNAL.search('<a href="/app/pay">pay</a> 1,000.00 a.b')


def _messages() -> set[str]:
    found: set[str] = set()
    for source in [*CONSOLE.glob("templates/*.html"), *CONSOLE.glob("*.py")]:
        text = source.read_text(encoding="utf-8")
        found |= {m.group(2) for m in MESSAGE.finditer(text)}
    found |= set(render.NOTICES.values()) | set(render.ERROR_TITLES.values()) | set(render.PROBLEMS.values())
    from puhui.console import app_credit, app_wallet, bills, ops_kyc

    found |= set(ops_kyc.FAILURE_REASONS.values())

    found |= set(app_wallet.BANK_FAILURES.values()) | {app_wallet.BANK_FAILED} | set(app_credit.PROBLEMS.values())
    return found | set(bills.KINDS.values()) | set(bills.HELD.values())


def test_every_message_has_a_chinese_translation() -> None:
    chinese = i18n.translations("zh_CN")
    missing = sorted(m for m in _messages() if chinese.gettext(m) == m and m not in ("Puhui",))
    assert not missing
    assert len(_messages()) > 100


def test_every_dynamic_message_has_both_translations() -> None:
    """`_("status:" ~ x)` keys are looked up by prefix: each key the catalogue lists is translated in both."""
    prefixes = set()
    for source in CONSOLE.glob("templates/*.html"):
        prefixes |= set(DYNAMIC.findall(source.read_text(encoding="utf-8")))
    assert prefixes >= {"status:", "purpose:", "kind:", "order:", "period:"}
    for locale in i18n.LOCALES:
        catalogue = i18n.translations(locale)
        for key in ("status:pending", "status:succeeded", "purpose:payments", "order:fast_redeem", "period:year"):
            assert catalogue.gettext(key) != key, (locale, key)


def test_amounts_are_formatted_in_the_locale_with_the_currency() -> None:
    assert i18n.Formatter("zh_CN").money("1234567.8") == "¥1,234,567.80"
    assert i18n.Formatter("en").money(Decimal("0.05")) == "CN¥0.05"
    assert i18n.Formatter("en").money(None) == "—"
