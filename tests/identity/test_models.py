"""Real-name checks (GB 11643 resident ID, GB 32100 credit code, Luhn cards, phones), masking and tiers."""

from __future__ import annotations

import datetime as dt

import pytest
from stdnum import luhn

from puhui import clock as clock_module
from puhui.identity import models
from puhui.identity.errors import (
    InvalidBankAccount,
    InvalidCardNumber,
    InvalidCreditCode,
    InvalidIdNumber,
    InvalidName,
    InvalidPhone,
    WeakPassword,
)
from puhui.identity.models import TIER_RULES, WalletTier

# GB 11643 numbers with a right check digit (an X is the check value 10): the standard's own
# example and numbers from Beijing, Shanghai and Urumqi regions.
VALID_IDS = ["11010519491231002X", "11010119900307651X", "310104198511202465", "650102199901011234"]


def corrupt_check_digit(number: str) -> list[str]:
    """Every other possible last character: exactly one check digit is right."""
    return [number[:-1] + c for c in "0123456789X" if c != number[-1]]


@pytest.mark.parametrize("number", VALID_IDS)
def test_valid_resident_ids_pass(number):
    assert models.normalize_id_number(number) == number
    assert models.normalize_id_number(" " + number.lower() + " ") == number


@pytest.mark.parametrize("number", VALID_IDS)
def test_every_wrong_check_digit_is_refused(number):
    for bad in corrupt_check_digit(number):
        with pytest.raises(InvalidIdNumber) as caught:
            models.normalize_id_number(bad)
        assert caught.value.code == "invalid_id_number"
        assert bad not in caught.value.detail  # the message never echoes the number


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "11010519491231002",  # 17 characters
        "11010519491231002XX",  # 19
        "1101051949123100AX",  # letters in the body
        "110105194913310021",  # month 13 (check digit recomputed below)
        "999999199001010015",  # no such region
    ],
)
def test_malformed_ids_are_refused(bad):
    from stdnum.cn import ric

    if len(bad) == 18 and bad[:17].isdigit():
        bad = bad[:17] + ric.calc_check_digit(bad)  # a right check digit: the other rule must catch it
    with pytest.raises(InvalidIdNumber):
        models.normalize_id_number(bad)


def test_a_birth_date_after_today_is_refused(clock):
    from stdnum.cn import ric

    tomorrow = (clock.now() + dt.timedelta(days=2)).astimezone(clock_module.CHINA).date()
    body = "110105" + tomorrow.strftime("%Y%m%d") + "123"
    with pytest.raises(InvalidIdNumber, match="birth date"):
        models.normalize_id_number(body + ric.calc_check_digit(body + "0"))
    clock.advance(days=3)
    assert models.normalize_id_number(body + ric.calc_check_digit(body + "0"))


@pytest.mark.parametrize(
    "phone, expected",
    [("13812345678", "13812345678"), ("+86 138-1234-5678", "13812345678"), ("19900001111", "19900001111")],
)
def test_phones(phone, expected):
    assert models.normalize_phone(phone) == expected


@pytest.mark.parametrize("phone", ["", "12812345678", "1381234567", "138123456789", "abcdefghijk", "+1 4155550100"])
def test_bad_phones(phone):
    with pytest.raises(InvalidPhone):
        models.normalize_phone(phone)


def test_luhn_cards():
    body = "622202123456789"
    good = body + luhn.calc_check_digit(body)
    assert models.normalize_card_number(good) == good
    assert models.normalize_card_number(" ".join([good[:4], good[4:8], good[8:12], good[12:]])) == good
    for digit in "0123456789":
        if digit != good[-1]:
            with pytest.raises(InvalidCardNumber, match="Luhn"):
                models.normalize_card_number(good[:-1] + digit)
    # a single-digit typo anywhere is caught (the point of Luhn)
    typo = good[:5] + str((int(good[5]) + 1) % 10) + good[6:]
    with pytest.raises(InvalidCardNumber):
        models.normalize_card_number(typo)
    for bad in ("", "12345678901", "4" * 20, "6222 02ab 1234 5678"):
        with pytest.raises(InvalidCardNumber):
            models.normalize_card_number(bad)


def test_credit_codes_and_bank_accounts():
    assert models.normalize_credit_code("91110000600037341l") == "91110000600037341L"
    with pytest.raises(InvalidCreditCode):
        models.normalize_credit_code("91110000600037341X")
    assert models.normalize_bank_account("1100 6077 4018 0100 12345") == "110060774018010012345"
    for bad in ("1234567", "12a4567890", "1" * 33):
        with pytest.raises(InvalidBankAccount):
            models.normalize_bank_account(bad)


@pytest.mark.parametrize("name", ["", "   ", "张三3", "x" * 65, "Li\x00Na"])
def test_bad_names(name):
    with pytest.raises(InvalidName):
        models.normalize_name(name)


def test_names_are_normalised():
    assert models.normalize_name("  迪丽热巴·迪力木拉提 ") == "迪丽热巴·迪力木拉提"
    assert models.normalize_name("Li   Na") == "Li Na"


@pytest.mark.parametrize(
    "password", ["short", "12345678901", "x" * 129, " " * 8, " a b c d e ", "aaaaaaaaaaaa"]
)  # issue 19: eight spaces were a password
def test_password_policy(password):
    with pytest.raises(WeakPassword):
        models.check_password(password)


def test_a_passphrase_with_spaces_is_a_password():
    assert models.check_password("correct horse battery") == "correct horse battery"


def test_masks():
    assert models.mask_id_number("110105194912311234") == "110***********1234"
    assert models.mask_phone("13812345678") == "138****5678"
    assert models.mask_card_number("6222021234567890128") == "622202*********0128"
    assert models.mask_name("张三丰") == "*三丰"
    assert models.mask_name("Li Na") == "* Na"
    assert models.mask_name("张") == "*"
    assert models.mask_address("北京市朝阳区建国路88号") == "北京市朝阳区****"
    assert models.mask_bank_account("110060774018010012345") == "*" * 17 + "2345"
    for value, mask in [("110105194912311234", models.mask_id_number), ("13812345678", models.mask_phone)]:
        assert len(mask(value)) == len(value) and value not in mask(value)


def test_tiers_follow_independent_verifications():
    assert models.tier_for(0) is None
    assert [models.tier_for(n) for n in range(1, 8)] == [
        WalletTier.I,
        WalletTier.I,
        WalletTier.II,
        WalletTier.II,
        WalletTier.III,
        WalletTier.III,
        WalletTier.III,
    ]
    assert TIER_RULES[WalletTier.I].limit_minor == 1_000_00 and TIER_RULES[WalletTier.I].period == "lifetime"
    assert TIER_RULES[WalletTier.II].limit_minor == 100_000_00 and TIER_RULES[WalletTier.II].period == "year"
    assert TIER_RULES[WalletTier.III].limit_minor == 200_000_00 and TIER_RULES[WalletTier.III].may_invest
    assert not TIER_RULES[WalletTier.II].may_invest
    assert models.parse_tier("II") is WalletTier.II
