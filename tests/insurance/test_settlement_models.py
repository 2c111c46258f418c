"""Insurer settlement rules by hand (保费结算): commission half-up to the fen with what was carried, the split
of the remittable money, the schedule, the masked account and the partner file's trailer."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import pytest

from puhui.insurance.settlement import models


def test_commission_is_half_up_to_the_fen_plus_what_was_carried():
    assert models.commission_due(Decimal("0.155"), 899_00, 0) == 139_35  # 13934.5 fen → 13935
    assert models.commission_due(Decimal("0.155"), 299_00, 0) == 46_35  # 4634.5 → 4635
    assert models.commission_due(Decimal("0.15"), 1_01, 0) == 15  # 15.15 → 15
    assert models.commission_due(Decimal("0.15"), -200_00, 0) == -30_00  # refunds above sales
    assert models.commission_due(Decimal("0.15"), 1000_00, -30_00) == 120_00


def test_split_never_takes_or_remits_more_than_there_is():
    assert models.split(899_00, 139_35) == models.Split(139_35, 759_65, 0)
    assert models.split(249_00, -30_00) == models.Split(0, 249_00, -30_00)  # negative due: carried
    assert models.split(100_00, 300_00) == models.Split(100_00, 0, 200_00)  # claims spent the rest
    assert models.split(-5_00, 10_00) == models.Split(0, 0, 10_00)  # nothing remittable


def test_schedule_and_rate_rules():
    monthly = models.Schedule("monthly", 15)
    assert monthly.next_after(dt.date(2026, 1, 5)) == dt.date(2026, 1, 15)
    assert monthly.next_after(dt.date(2026, 1, 15)) == dt.date(2026, 2, 15)
    assert monthly.next_after(dt.date(2026, 12, 20)) == dt.date(2027, 1, 15)
    assert models.Schedule("every", 7).next_after(dt.date(2026, 1, 5)) == dt.date(2026, 1, 12)
    for kind, value in (("monthly", 29), ("monthly", 0), ("every", 367), ("weekly", 1)):
        with pytest.raises(models.TermsError):
            models.Schedule(kind, value)
    assert models.check_rate(Decimal("0.15")) == Decimal("0.15")
    for bad in ("1", "-0.1", "0.1234567", "NaN"):
        with pytest.raises(models.TermsError):
            models.check_rate(Decimal(bad))
    assert models.mask_account("6222020200112233") == "************2233"


def test_partner_file_trailer_counts_totals_and_hashes_the_body():
    lines = [
        models.FileLine("2026-01-05", "premium", "pol_a", "ins.pol_a.premium", 688_00),
        models.FileLine("2026-01-05", "refund", "pol_a", "ins.pol_a.refund", 688_00),
        models.FileLine("2026-01-05", "claim", "clm_1", "ins.clm_1.claim", 50_00),
    ]
    text = models.partner_file(lines)
    body, trailer = text.rsplit("\n", 2)[0] + "\n", text.splitlines()[-1]
    assert text.splitlines()[0] == "business_date,kind,reference,transfer_id,amount"
    assert text.splitlines()[1] == "2026-01-05,premium,pol_a,ins.pol_a.premium,688.00"
    digest = hashlib.sha256(body.encode()).hexdigest()
    assert trailer == f"TRAILER,3,688.00,688.00,50.00,0.00,0.00,0.00,{digest}"
