"""Identity values and rules (no I/O): real-name checks, masking, wallet tiers, roles.

Resident ID numbers are checked by GB 11643 (check digit and birth date) and bank cards by the
Luhn algorithm, through `python-stdnum`.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from stdnum import luhn
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from puhui.errors import InvalidInput


class InvalidIdNumber(InvalidInput):
    code = "invalid_id_number"
    title = "Resident ID number is not valid (GB 11643)"


class InvalidPhone(InvalidInput):
    code = "invalid_phone"
    title = "Mobile phone number is not valid"


class InvalidCardNumber(InvalidInput):
    code = "invalid_card_number"
    title = "Bank card number is not valid (Luhn)"


class InvalidName(InvalidInput):
    code = "invalid_name"
    title = "Name is not valid"


PHONE = re.compile(r"^1[3-9][0-9]{9}$")
CARD = re.compile(r"^[0-9]{12,19}$")


def normalize_id_number(value: str) -> str:
    """An 18-character resident ID number (居民身份证号码), upper-case X, or InvalidIdNumber."""
    number = value.strip().upper()
    if len(number) != 18:
        raise InvalidIdNumber("a resident ID number has 18 characters")
    try:
        return ric.validate(number)
    except ValidationError as error:
        raise InvalidIdNumber(f"{error.message}") from None


def normalize_phone(value: str) -> str:
    """A mainland mobile number (11 digits starting 13-19), with an optional +86 prefix dropped."""
    phone = re.sub(r"[\s-]", "", value)
    phone = phone.removeprefix("+86")
    if not PHONE.match(phone):
        raise InvalidPhone("expected 11 digits starting with 13-19")
    return phone


def normalize_card_number(value: str) -> str:
    """A bank card number (银行卡号): 12-19 digits passing the Luhn check."""
    card = re.sub(r"[\s-]", "", value)
    if not CARD.match(card):
        raise InvalidCardNumber("expected 12-19 digits")
    if not luhn.is_valid(card):
        raise InvalidCardNumber("the Luhn check digit does not match")
    return card


def normalize_name(value: str) -> str:
    name = " ".join(value.split())
    if not 1 <= len(name) <= 64 or any(ch.isdigit() for ch in name):
        raise InvalidName("a name has 1-64 characters and no digits")
    return name


# -- masking ----------------------------------------------------------------------------------


def mask_id_number(number: str) -> str:
    """`110105194912310021` -> `110***********0021` (first 3, last 4)."""
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def mask_phone(phone: str) -> str:
    """`13812345678` -> `138****5678`."""
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_card_number(card: str) -> str:
    """`6222021234567890128` -> `622202*********0128` (BIN and last 4)."""
    return card[:6] + "*" * (len(card) - 10) + card[-4:]


def mask_name(name: str) -> str:
    """`张三丰` -> `*三丰`; `Li Na` -> `* Na`: the family name is hidden."""
    if " " in name:
        return "* " + name.split(" ", 1)[1]
    return "*" + name[1:] if len(name) > 1 else "*"


def mask_address(address: str) -> str:
    return address[:6] + "****" if len(address) > 6 else "****"


MASKS = {
    "name": mask_name,
    "id_number": mask_id_number,
    "phone": mask_phone,
    "card_number": mask_card_number,
    "address": mask_address,
}


# -- wallet tiers -----------------------------------------------------------------------------


class WalletTier(enum.IntEnum):
    """Classes of non-bank payment accounts (支付账户分类), by independent verifications passed."""

    I = 1  # noqa: E741 - the regulation's own name: Class I
    II = 2
    III = 3


@dataclass(frozen=True)
class TierRule:
    tier: WalletTier
    verifications: int  # independent channels that confirmed the identity
    limit_minor: int  # CNY fen
    period: str  # "lifetime" (since opening) or "year"
    may_invest: bool


TIER_RULES = {
    WalletTier.I: TierRule(WalletTier.I, 1, 1_000_00, "lifetime", False),
    WalletTier.II: TierRule(WalletTier.II, 3, 100_000_00, "year", False),
    WalletTier.III: TierRule(WalletTier.III, 5, 200_000_00, "year", True),
}


def tier_for(verifications: int) -> WalletTier:
    """The highest class the number of independent verifications allows (I: 1, II: 3, III: 5)."""
    best = WalletTier.I
    for rule in TIER_RULES.values():
        if verifications >= rule.verifications:
            best = max(best, rule.tier)
    return best


# -- staff roles ------------------------------------------------------------------------------


class Role(enum.StrEnum):
    customer = "customer"
    merchant = "merchant"
    partner = "partner"
    operator = "operator"
    risk_officer = "risk_officer"
    regulator = "regulator"
    admin = "admin"


STAFF_ROLES = {Role.operator, Role.risk_officer, Role.regulator, Role.admin}
# Roles that may see personal information in clear (each access is written to the access log).
CLEAR_PII_ROLES = {Role.admin, Role.risk_officer}
