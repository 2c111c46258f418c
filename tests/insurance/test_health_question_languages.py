"""Every built-in medical product's health questions (健康告知) read in both of the console's languages.

The API answers a question's `text` as the product stores it (Chinese); the console words it in the
viewer's language through its catalogue (`{{ _(question.text) }}` in `insurance_health.html`, the English in
`console/locale/en/LC_MESSAGES/insurance.po`, keyed by the exact Chinese text). The demo's product has its
English there, and so has the simulator's product (`sim.insurance.QUESTIONS`, stored without a "？", so
keyed apart from the demo's)."""

from __future__ import annotations

import re

from puhui.console.i18n import translations
from puhui.demo import MEDICAL
from puhui.sim.insurance import QUESTIONS

HAN = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]")


def demo_questions() -> list[str]:
    return [q["text"] for q in MEDICAL["questionnaire"]]


def sim_questions() -> list[str]:
    return [q.text for q in QUESTIONS]


def untranslated(texts: list[str]) -> list[str]:
    """The questions without both a Chinese text and an English one in the console's catalogue."""
    english, chinese = translations("en"), translations("zh_CN")
    missing = []
    for text in texts:
        zh, en = chinese.gettext(text), english.gettext(text)
        if not (HAN.search(zh) and en != text and LATIN.search(en) and not HAN.search(en)):
            missing.append(text)
    return missing


def test_the_check_finds_a_question_without_english():
    assert untranslated(["是否患有某种从未翻译过的疾病？"]) == ["是否患有某种从未翻译过的疾病？"]


def test_the_demo_products_questions_have_chinese_and_english():
    assert demo_questions() and untranslated(demo_questions()) == []


def test_every_products_every_question_has_chinese_and_english():
    assert untranslated(demo_questions() + sim_questions()) == []
