"""Languages of the console (界面语言): zh-CN and English from Babel catalogues under `locale/`,
chosen by a cookie set with the language switch, else by the browser's Accept-Language. Amounts are
formatted with the currency in the chosen locale; times are shown in China time (北京时间)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from babel import negotiate_locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent
from babel.support import Translations
from fastapi import Request

from puhui import clock

LOCALE_DIR = Path(__file__).parent / "locale"
LOCALES = ("zh_CN", "en")
DEFAULT = "zh_CN"
COOKIE = "puhui_lang"


def _compiled(path: Path, locale: str) -> Translations:
    with open(path, "rb") as po:
        catalog = read_po(po, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


@lru_cache(maxsize=len(LOCALES))
def translations(locale: str) -> Translations:
    """The locale's catalogue, compiled from its .po files in memory (no build step, no stale .mo):
    `messages.po`, merged with one more file per part of the console (e.g. `insurance.po`)."""
    folder = LOCALE_DIR / locale / "LC_MESSAGES"
    merged = _compiled(folder / "messages.po", locale)
    for extra in sorted(folder.glob("*.po")):
        if extra.name != "messages.po":
            merged.merge(_compiled(extra, locale))
    return merged


def choose(request: Request) -> str:
    """A link's `?lang=` (en, zh, zh-CN…) for that page, else the switch's cookie if it names a known
    locale, else the best match of Accept-Language."""
    asked = request.query_params.get("lang")
    if asked:
        linked = negotiate_locale(_preferred(asked), LOCALES, sep="_")
        if linked in LOCALES:
            return linked
    chosen = request.cookies.get(COOKIE)
    if chosen in LOCALES:
        return chosen
    found = negotiate_locale(_preferred(request.headers.get("accept-language", "")), LOCALES, sep="_")
    return found if found in LOCALES else DEFAULT


def _preferred(header: str) -> list[str]:
    """Accept-Language's tags, most wanted first (by q, then by order), as `zh_CN`, `en_GB`…"""
    ranked = []
    for n, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        try:
            weight = float(params.strip()[2:]) if params.strip().startswith("q=") else 1.0
        except ValueError:
            weight = 0.0
        if tag and tag != "*" and weight > 0:
            chinese = tag.lower() == "zh" or tag.lower().startswith("zh-")  # zh-Hans-CN, zh-TW…: the one Chinese
            ranked.append((-weight, n, "zh_CN" if chinese else tag.replace("-", "_")))
    return [tag for _, _, tag in sorted(ranked)]


class Formatter:
    """What a page needs to speak one locale: gettext, money, numbers, dates and China time."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.html_lang = locale.replace("_", "-")
        self._translations = translations(locale)

    def gettext(self, message: str, **values: object) -> str:
        text = self._translations.gettext(message)
        return text % values if values else text

    def money(self, amount: str | Decimal | None, currency: str = "CNY") -> str:
        """`¥1,234.56` (zh-CN) / `CN¥1,234.56` (en): Babel's format_currency, Decimal throughout."""
        if amount is None:
            return "—"
        return format_currency(Decimal(amount), currency, locale=self.locale)

    def number(self, value: str | Decimal, places: int = 2) -> str:
        return format_decimal(
            Decimal(value), format="#,##0" + ("." + "0" * places if places else ""), locale=self.locale
        )

    def percent(self, fraction: str | Decimal | None) -> str:
        """A rate given as a decimal fraction (`"0.1795"`) as a percentage with two places: `17.95%`."""
        if fraction is None:
            return "—"
        return format_percent(Decimal(fraction), format="#,##0.00%", locale=self.locale)

    def day(self, value: str | dt.date | None) -> str:
        if value is None:
            return "—"
        day = dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value
        return format_date(day, format="medium", locale=self.locale)

    def moment(self, value: str | dt.datetime | None) -> str:
        """A timestamp shown in China time."""
        if value is None:
            return "—"
        when = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
        return format_datetime(when, format="short", tzinfo=clock.CHINA, locale=self.locale)

    def china_now(self) -> str:
        return format_datetime(clock.now(), format="medium", tzinfo=clock.CHINA, locale=self.locale)
