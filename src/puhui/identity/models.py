"""Identity values and rules (no I/O): real-name checks, masking, wallet tiers, roles.

Resident ID numbers are checked by GB 11643 (check digit and birth date) and bank cards by the
Luhn algorithm, through `python-stdnum`.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass
from typing import Protocol

from stdnum import luhn
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from puhui import clock
from puhui.errors import InvalidInput
from puhui.identity.errors import (
    CustomerUnderAge,
    InvalidAddress,
    InvalidBankAccount,
    InvalidCardNumber,
    InvalidCreditCode,
    InvalidIdNumber,
    InvalidName,
    InvalidPhone,
    WeakPassword,
)

PHONE = re.compile(r"^1[3-9][0-9]{9}$")
CARD = re.compile(r"^[0-9]{12,19}$")
BANK_ACCOUNT = re.compile(r"^[0-9]{8,32}$")
PASSWORD_MIN, PASSWORD_MAX = 8, 128
EARLIEST_BIRTH = dt.date(1880, 1, 1)


def _printable(value: str) -> bool:
    return value.isprintable()


def normalize_id_number(value: str) -> str:
    """An 18-character resident ID number (居民身份证号码), upper-case X, or InvalidIdNumber."""
    number = value.strip().upper()
    if len(number) != 18:
        raise InvalidIdNumber("a resident ID number has 18 characters")
    try:
        number = ric.validate(number)
    except ValidationError as error:
        # The message names the failed check (length, checksum, birth date or place), never the value.
        raise InvalidIdNumber(f"{error.message}") from None
    born = ric.get_birth_date(number)
    if not EARLIEST_BIRTH <= born <= clock.business_date():
        raise InvalidIdNumber("the birth date in the number is not plausible")
    return number


def age_on(born: dt.date, day: dt.date) -> int:
    """Full years of age (周岁) on `day`; one born on 29 February turns a year older on 1 March in other years."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def check_adult(id_number: str, min_age: int, day: dt.date) -> None:
    """Natural persons under `min_age` (by default 18: 完全民事行为能力) cannot open an account alone."""
    age = age_on(ric.get_birth_date(id_number), day)
    if age < min_age:
        raise CustomerUnderAge(f"a customer must be at least {min_age} years old to register alone", min_age=min_age)


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
    """A person's name (姓名) as on the ID card: 1-64 printable characters, no digits."""
    name = " ".join(value.split())
    if not 1 <= len(name) <= 64 or any(ch.isdigit() for ch in name) or not _printable(name):
        raise InvalidName("a name has 1-64 printable characters and no digits")
    return name


def normalize_address(value: str) -> str:
    """A postal address (地址): 1-200 printable characters."""
    address = " ".join(value.split())
    if not 1 <= len(address) <= 200 or not _printable(address):
        raise InvalidAddress("an address has 1-200 printable characters")
    return address


def check_password(value: str) -> str:
    """The password policy: 8-128 characters, not all digits (a phone or birthday is not a password), at
    least 8 that are not spaces, and not one character repeated."""
    if not PASSWORD_MIN <= len(value) <= PASSWORD_MAX:
        raise WeakPassword(f"a password has {PASSWORD_MIN}-{PASSWORD_MAX} characters")
    if value.isdigit():
        raise WeakPassword("a password must not be only digits")
    if len("".join(value.split())) < PASSWORD_MIN or len(set(value)) == 1:
        raise WeakPassword(
            f"a password needs at least {PASSWORD_MIN} characters that are not spaces, not one character repeated"
        )
    return value


def normalize_credit_code(value: str) -> str:
    """A unified social credit code (统一社会信用代码, GB 32100): 18 characters with a check character."""
    code = value.strip().upper()
    try:
        return uscc.validate(code)
    except ValidationError as error:
        raise InvalidCreditCode(f"{error.message}") from None


def normalize_bank_account(value: str) -> str:
    """A settlement bank account number (结算账号): 8-32 digits, spaces and dashes dropped. It is a corporate
    account (对公账户), no card: its bank's own scheme carries no Luhn digit, so only the shape is checked, also
    at 12-19 digits. The bank orders that pay it check the same rule (`payments.bank.channel.check_account`)."""
    account = re.sub(r"[\s-]", "", value)
    if not BANK_ACCOUNT.match(account):
        raise InvalidBankAccount("expected 8-32 digits")
    return account


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
    """Keep the first 6 characters (province and city) and hide the rest."""
    return address[:6] + "****" if len(address) > 6 else "****"


def mask_bank_account(account: str) -> str:
    """A bank account keeps its last 4 digits (and a card its BIN)."""
    if CARD.match(account) and luhn.is_valid(account):
        return mask_card_number(account)
    return "*" * (len(account) - 4) + account[-4:]


MASKS = {
    "name": mask_name,
    "id_number": mask_id_number,
    "phone": mask_phone,
    "card_number": mask_card_number,
    "address": mask_address,
    "settlement_account": mask_bank_account,
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


def tier_for(verifications: int) -> WalletTier | None:
    """The highest class the number of independent verifications allows (I: 1, II: 3, III: 5);
    None below one verification: an unverified customer has no payment account class yet."""
    best = None
    for rule in TIER_RULES.values():
        if verifications >= rule.verifications and (best is None or rule.tier > best):
            best = rule.tier
    return best


def tier_name(tier: WalletTier | int | None) -> str | None:
    return WalletTier(tier).name if tier is not None else None


def parse_tier(name: str) -> WalletTier:
    try:
        return WalletTier[name]
    except KeyError:
        raise InvalidInput(f"tier must be one of {[t.name for t in WalletTier]}") from None


class VerificationChannel(enum.StrEnum):
    """Independent channels that confirm a customer's identity (外部验证渠道). Each counts once."""

    public_security = "public_security"  # 公安部公民身份信息核查
    bank_card = "bank_card"  # 银行卡(账户)验证
    mobile_operator = "mobile_operator"  # 运营商实名验证
    face = "face"  # 人脸识别 (liveness + photo match)
    social_security = "social_security"  # 社保信息
    tax = "tax"  # 税务信息
    in_person = "in_person"  # 面对面核验 (柜面)


class ConsentPurpose(enum.StrEnum):
    """Purposes a customer consents to (个人信息处理目的)."""

    payments = "payments"
    credit_scoring = "credit_scoring"  # 信用评估
    risk_control = "risk_control"  # 风险控制
    marketing = "marketing"  # 营销
    third_party_sharing = "third_party_sharing"  # 向第三方提供
    biometrics = "biometrics"  # 生物识别 (sensitive)
    cross_border = "cross_border"  # 跨境提供


class CustomerStatus(enum.StrEnum):
    active = "active"
    closed = "closed"  # 已注销: personal fields erased, financial records kept


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


class Actor(Protocol):
    """Whoever performs an operation (the API's `Principal` is one)."""

    id: str
    role: str
