"""Regulatory limits: single-borrower cap, one third of income, the platform's share in joint lending."""

from __future__ import annotations

from decimal import Decimal

import pytest

from puhui.lending.errors import (
    BorrowerLimitExceeded,
    PartnerShareInvalid,
    PartnerShareTooLow,
)
from puhui.lending.policy import (
    MIN_PLATFORM_SHARE,
    SINGLE_BORROWER_CAP,
    check_borrower_limits,
    check_partner_share,
)


def test_single_borrower_cap():
    assert SINGLE_BORROWER_CAP == 300_000_00
    check_borrower_limits(200_000_00, 100_000_00, 900_000_00)
    with pytest.raises(BorrowerLimitExceeded) as error:
        check_borrower_limits(200_000_00, 100_000_01, 900_000_00)
    assert error.value.code == "borrower_limit_exceeded" and error.value.status == 422
    assert error.value.extra["rule"] == "single_borrower_cap"
    with pytest.raises(BorrowerLimitExceeded):
        check_borrower_limits(0, 50_000_00, 900_000_00, cap=20_000_00)


def test_one_third_of_annual_income():
    # income 90,000.00 a year: at most 30,000.00 owed
    check_borrower_limits(10_000_00, 20_000_00, 90_000_00)
    with pytest.raises(BorrowerLimitExceeded) as error:
        check_borrower_limits(10_000_00, 20_000_01, 90_000_00)
    assert error.value.extra == {"limit": "30000.00", "rule": "income_third"}
    # 100.00 income: a third is 33.333..., so 33.33 passes and 33.34 does not (no rounding up)
    check_borrower_limits(0, 33_33, 100_00)
    with pytest.raises(BorrowerLimitExceeded):
        check_borrower_limits(0, 33_34, 100_00)


@pytest.mark.parametrize("share", ["0.3", "0.5", "1"])
def test_joint_lending_shares_allowed(share):
    check_partner_share(Decimal(share), facilitation=False)


def test_partner_share_below_30_percent_refused():
    assert MIN_PLATFORM_SHARE == Decimal("0.30")
    with pytest.raises(PartnerShareTooLow) as error:
        check_partner_share(Decimal("0.299999"), facilitation=False)
    assert error.value.code == "partner_share_too_low" and error.value.status == 422


def test_facilitation_funds_nothing():
    check_partner_share(Decimal(0), facilitation=True)
    with pytest.raises(PartnerShareInvalid):
        check_partner_share(Decimal("0.3"), facilitation=True)
    for bad in ("-0.1", "1.01"):
        with pytest.raises(PartnerShareInvalid):
            check_partner_share(Decimal(bad), facilitation=False)
