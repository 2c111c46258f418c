"""The questionnaire trusted a self-declared age that contradicted the ID (new-user pass, defect 2), its age
bands "56–65岁" and "65岁以上" both held a 65-year-old, and its choices were Chinese only in English (defect
3). The age is now read from the customer's resident ID (周岁 on the business date) and any typed answer is
ignored; version 2026.2 has disjoint bands and English text; 2026.1 stays readable for stored assessments."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from puhui.wealth.suitability import service as suitability
from puhui.wealth.suitability.service import CURRENT, QUESTIONNAIRES, V2026_1
from puhui.wealth.suitability.tables import risk_assessments

from .test_suitability_http import answer, client, make_customer  # noqa: F401 - the client fixture

# Every question's highest choice but the goal (A: 1) and the loss (D: 4): 30 without the age. With the
# 31–45 answer (5) that is 35, C5; with 65 and older (1), 31, C4.
BOLD_BUT_AGE = {
    **{q.id: max(q.choices, key=lambda c: c.score).key for q in CURRENT.questions if q.id != "age"},
    "goal": "A",
    "loss": "D",
}


def stored_answers(engine, customer_id: str) -> dict:
    with engine.connect() as connection:
        row = connection.execute(select(risk_assessments).where(risk_assessments.c.customer_id == customer_id))
        return json.loads(row.mappings().one()["answers"])


@pytest.mark.parametrize(
    ("born", "typed", "age_key", "level"),
    [
        pytest.param("19610105", "E", "A", "C4", id="65-today-typing-31-45"),  # 65 on 2026-01-05, the clock's date
        pytest.param("19610106", "E", "B", "C4", id="64-typing-31-45"),  # 65 only tomorrow: 56–64 (2)
        pytest.param("19550601", None, "A", "C4", id="70-leaving-it-out"),
        pytest.param("19900307", "D", "E", "C5", id="36-typing-18-30"),  # the reported case
    ],
)
def test_the_age_answer_is_read_from_the_id(client, engine, born, typed, age_key, level):  # noqa: F811
    customer_id, headers, _ = make_customer(client, 1, born=born)
    answers = BOLD_BUT_AGE if typed is None else {**BOLD_BUT_AGE, "age": typed}
    done = answer(client, headers, answers, "q-1")
    assert done.status_code == 201, done.text
    assert done.json()["level"] == level
    assert stored_answers(engine, customer_id)["age"] == age_key  # what was scored is what is kept


def test_the_age_bands_are_disjoint_and_cover_every_age():
    age = next(q for q in CURRENT.questions if q.id == "age")
    assert age.from_id
    for years in range(0, 131):
        assert len([c for c in age.choices if c.ages and c.ages[0] <= years <= c.ages[1]]) == 1, years
    assert [age.choice_for_age(y).text for y in (30, 31, 45, 46, 55, 56, 64, 65)] == [
        "30岁及以下",
        "31–45岁",
        "31–45岁",
        "46–55岁",
        "46–55岁",
        "56–64岁",
        "56–64岁",
        "65岁及以上",
    ]


def test_stored_versions_stay_readable_and_only_the_current_takes_answers(client):  # noqa: F811
    assert CURRENT.version == "2026.2" and QUESTIONNAIRES["2026.1"] is V2026_1
    assert [c.text for c in V2026_1.questions[0].choices][:2] == ["65岁以上", "56–65岁"]  # as answered then
    _, headers, _ = make_customer(client, 2)
    old = answer(client, headers, {**BOLD_BUT_AGE, "age": "E"}, "q-old", version="2026.1")
    assert old.status_code == 422 and old.json()["code"] == "invalid_answers"


def test_the_questionnaire_carries_english_text_and_marks_the_age(client):  # noqa: F811
    _, headers, _ = make_customer(client, 3)
    shown = client.get("/v1/wealth/questionnaire", headers=headers).json()
    by_id = {q["id"]: q for q in shown["questions"]}
    assert by_id["age"]["from_id"] is True and not by_id["income"]["from_id"]
    assert by_id["income"]["text"] == "家庭年收入" and by_id["income"]["text_en"] == "Household income per year"
    for question in shown["questions"]:
        assert question["text_en"].isascii(), question
        for choice in question["choices"]:
            assert choice["text_en"] and all(not "\u4e00" <= ch <= "\u9fff" for ch in choice["text_en"]), choice


def test_the_console_shows_the_choices_in_the_viewers_language_without_the_age():
    from puhui.console.app_funds import localized

    english = localized(CURRENT.as_json(), "en")
    assert "age" not in [q["id"] for q in english["questions"]]  # answered from the ID
    income = english["questions"][0]
    assert income["text"] == "Household income per year" and income["choices"][0]["text"] == "under ¥50,000"
    chinese = localized(CURRENT.as_json(), "zh_CN")
    assert chinese["questions"][0]["choices"][0]["text"] == "5万元以下"
