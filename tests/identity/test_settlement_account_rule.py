"""A merchant's settlement account (结算账号) is a corporate account (对公账户), not a card, on SQLite and PostgreSQL:
onboarding takes 8-32 digits with no Luhn digit and refuses anything else with `invalid_bank_account`, changing
nothing; the bank orders that pay it check the very same rule, so an account onboarding accepts is one a payout
can be ordered to, and one it refuses never reaches the bank."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn

from puhui.identity import org
from puhui.identity.errors import InvalidBankAccount
from puhui.identity.models import normalize_bank_account
from puhui.payments.bank.channel import BankOrder, OrderKind, check_account
from puhui.payments.errors import InvalidBankOrder

from .helpers import ADMIN, MERCHANT, snapshot
from .test_api import is_problem

NOT_A_CARD = "6222020000000888888"  # 19 digits, a card's length, failing Luhn: a real corporate account may


def test_a_corporate_account_that_fails_luhn_is_onboarded_and_kept_as_given(client, engine, vault):
    assert not luhn.is_valid(NOT_A_CARD)
    answer = client.post(
        "/v1/merchants", headers=ADMIN, json={**MERCHANT, "settlement_account": "6222 0200-0000 0888 888"}
    )
    assert answer.status_code == 201, answer.text
    with engine.connect() as connection:
        assert org.settlement_account(connection, vault, answer.json()["id"])[0] == NOT_A_CARD


@pytest.mark.parametrize("account", ["1234567", "1" * 33, "62220200000008888８8", "6222-abc-0000", "tok_abcdef", ""])
def test_a_malformed_settlement_account_is_a_problem_that_changes_nothing(client, engine, account):
    before = snapshot(engine)
    is_problem(
        client.post("/v1/merchants", headers=ADMIN, json={**MERCHANT, "settlement_account": account}),
        422,
        "invalid_bank_account" if account else "invalid_request",
    )
    assert snapshot(engine) == before


def _onboarding(text: str) -> str | None:
    try:
        return normalize_bank_account(text)
    except InvalidBankAccount:
        return None


def _ordering(number: str) -> bool:
    try:
        BankOrder("st_1", OrderKind.credit_card, number, 1, account=True)
    except InvalidBankOrder:
        return False
    return True


@given(st.text(alphabet="0123456789 -x８", max_size=40) | st.from_regex(r"[0-9]{1,40}", fullmatch=True))
def test_onboarding_and_the_bank_order_check_the_same_rule(text: str) -> None:
    """What onboarding keeps, a settlement payout can be ordered to; a digit string onboarding refuses, the
    bank order refuses too (the order also takes the sandbox's card tokens, which onboarding never stores)."""
    kept = _onboarding(text)
    if kept is not None:
        assert check_account(kept) == kept and _ordering(kept)
    elif text.isascii() and text.isdigit():
        assert not _ordering(text)
