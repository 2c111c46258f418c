"""The sandbox bank's test cards as documented: the README's table and docs/sandbox-bank.md show exactly
the cards of `sandbox_plan.TEST_CARDS` with their behaviours, and each card does what its line says."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from puhui.payments.bank.channel import BankOrder, OrderKind, OrderState
from puhui.payments.bank.sandbox.bank import SandboxBank
from puhui.payments.bank.sandbox.plan import (
    CARD_SILENT,
    CARD_SLOW,
    CARD_TWICE,
    OTHER_CARD_BALANCE,
    TEST_CARDS,
    FaultPlan,
    markdown_card_table,
)

ROOT = Path(__file__).resolve().parents[2]
KEY = "sandbox-bank-docs-test-key"
REASON = re.compile(r"fails `([a-z_]+)`")


def section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def table_rows(text: str) -> dict[str, str]:
    """Card number → behaviour, from the Markdown table rows in `text`."""
    rows = re.findall(r"^\| `(\d+)` \| ([0-9.]+) \| (.+) \|$", text, flags=re.MULTILINE)
    return {number: behaviour for number, _, behaviour in rows}


def test_the_readme_shows_every_test_card_right_after_the_sandbox_clock():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", readme, flags=re.MULTILINE)
    assert headings[headings.index("The sandbox clock") + 1] == "Sandbox bank test cards"
    cards = section(readme, "Sandbox bank test cards")
    assert markdown_card_table() in cards  # generated from the code, word for word
    assert table_rows(cards) == {number: card.behaviour for number, card in TEST_CARDS.items()}


def test_the_sandbox_bank_document_shows_the_same_table():
    doc = (ROOT / "docs" / "sandbox-bank.md").read_text(encoding="utf-8")
    assert markdown_card_table() in doc
    assert table_rows(doc) == {number: card.behaviour for number, card in TEST_CARDS.items()}


@pytest.mark.parametrize("number", list(TEST_CARDS))
def test_each_card_does_what_its_line_says(number, clock):
    """A top-up of 100.01 CNY: it fails with the reason the line names, or it succeeds; the slow,
    silent and duplicating cards time and count their notifications as they say."""
    bank = SandboxBank(KEY, plan=FaultPlan.reliable(), auto_open_balance=OTHER_CARD_BALANCE)
    pushes: list[bytes] = []
    bank.register_callback(lambda body, header: pushes.append(body) or 200)
    bank.submit(BankOrder("o-1", OrderKind.debit_card, number, 100_01))
    started = clock.now()
    bank.run_until(clock, started + dt.timedelta(minutes=5))
    behaviour = TEST_CARDS[number].behaviour
    if number == CARD_SLOW:
        assert bank.query("o-1").state == OrderState.processing and "10 minutes" in behaviour
        bank.run_until(clock, started + dt.timedelta(minutes=10))
    status = bank.query("o-1")
    named = REASON.search(behaviour)
    if named is not None:
        assert (status.state, status.failure_reason.value) == (OrderState.failed, named.group(1))
    else:
        assert status.state == OrderState.succeeded
    expected_pushes = {CARD_SILENT: 0, CARD_TWICE: 2}.get(number, 1)
    bank.run_until(clock)
    assert len(pushes) == expected_pushes


def test_any_other_card_opens_on_first_use_as_the_table_says(clock):
    assert "any other valid card" in markdown_card_table()
    bank = SandboxBank(KEY, auto_open_balance=OTHER_CARD_BALANCE)
    bank.submit(BankOrder("o-1", OrderKind.debit_card, "6222021234567890128", 100_01))
    bank.run_until(clock)
    assert bank.query("o-1").state == OrderState.succeeded
    assert bank.card_balance("6222021234567890128") == OTHER_CARD_BALANCE - 100_01
