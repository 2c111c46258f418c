"""Joint lending (联合贷款) and facilitation (助贷) through the services, on SQLite and PostgreSQL:
each funder's principal and interest to the fen, the facilitation service fee, the reserve rule,
write-offs shared, refusals that store nothing, and the partner's daily file."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import select

from puhui.db import reading
from puhui.identity.org import create_partner
from puhui.ledger.audit import audit
from puhui.ledger.service import get_account
from puhui.lending import service
from puhui.lending.errors import PartnerShareTooLow
from puhui.lending.partners import service as partners
from puhui.lending.partners.tables import PARTNER_TABLES, loan_funding_events
from puhui.lending.tables import loan_repayments
from puhui.payments import reserve

from .lending_world import INCOME, MONTHLY, World, snapshot

JOINT = {**MONTHLY, "code": "joint-30", "name": "联合贷 30%", "platform_share": "0.3"}
FACILITATED = {**MONTHLY, "code": "assist-0", "name": "助贷", "platform_share": "0", "upfront_fee_rate": "0"}


class Staff:
    id, role = "admin", "admin"


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def funding_partner(world: World, name: str = "某某银行") -> str:
    def work(uow):  # type: ignore[no-untyped-def]
        partner_id, _ = create_partner(uow, name, Staff())
        partners.register(uow, partner_id)
        return partner_id

    return world.run(work)


def balance(engine, account_id: str) -> int:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        account = get_account(connection, account_id)
        return account.credits_posted - account.debits_posted


def events(engine, loan_id: str) -> list[dict]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        rows = connection.execute(
            select(loan_funding_events)
            .where(loan_funding_events.c.loan_id == loan_id)
            .order_by(loan_funding_events.c.created_at, loan_funding_events.c.id)
        ).mappings()
        return [dict(r) for r in rows]


def repayments_of(engine, loan_id: str) -> list[dict]:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        rows = connection.execute(
            select(loan_repayments).where(loan_repayments.c.loan_id == loan_id).order_by(loan_repayments.c.created_at)
        ).mappings()
        return [dict(r) for r in rows]


def sound(engine) -> None:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        report = audit(connection)
        assert report.ok, report.violations
        assert reserve.reserve_coverage(connection).covered


def repay_on_schedule(world: World, cid: str, loan_id: str) -> None:
    with reading(world.engine) as connection:
        dues = [dt.date.fromordinal(r["due_day"]) for r in service.instalments(connection, loan_id)]
    for due in dues:
        world.clock.advance(days=(due - world.today()).days)
        world.repay(loan_id, cid)


def test_joint_loan_repaid_on_schedule_splits_every_fen(engine, clock):
    world = World(engine, clock)
    partner = funding_partner(world)
    world.product(JOINT)
    world.run(lambda uow: partners.fund_product(uow, "joint-30", partner))
    cid = world.customer()
    wallet_before = world.wallet(cid)
    amount = 10_000_01  # odd fen: the 30/70 split rounds
    loan_id = world.loan(cid, "joint-30", amount, 6)

    platform_principal = half_up(Decimal(amount) * Decimal("0.3"))
    partner_principal = amount - platform_principal
    assert balance(engine, partners.funding_account(partner)) == partner_principal
    assert world.wallet(cid) == wallet_before + amount - half_up(Decimal(amount) * Decimal("0.01"))  # upfront fee
    sound(engine)

    repay_on_schedule(world, cid, loan_id)
    paid = repayments_of(engine, loan_id)
    assert len(paid) == 6 and sum(r["principal"] for r in paid) == amount
    total_interest = sum(r["interest"] for r in paid)
    split = [e for e in events(engine, loan_id) if e["event"] == "repayment"]
    # each repayment: the partner's part is the cumulative 70% less what it already had, to the fen
    principal_so_far = interest_so_far = 0
    for repayment, event in zip(paid, split, strict=True):
        assert (event["principal"], event["interest"]) == (repayment["principal"], repayment["interest"])
        before = (principal_so_far, interest_so_far)
        principal_so_far += repayment["principal"]
        interest_so_far += repayment["interest"]
        expected_p = (principal_so_far - half_up(principal_so_far * Decimal("0.3"))) - (
            before[0] - half_up(before[0] * Decimal("0.3"))
        )
        expected_i = (interest_so_far - half_up(interest_so_far * Decimal("0.3"))) - (
            before[1] - half_up(before[1] * Decimal("0.3"))
        )
        assert (event["partner_principal"], event["partner_interest"]) == (expected_p, expected_i)
    partner_interest = sum(e["partner_interest"] for e in split)
    assert sum(e["partner_principal"] for e in split) == partner_principal
    assert partner_interest == total_interest - half_up(total_interest * Decimal("0.3"))
    # the ledger: the partner's funding is all back, and the platform owes it principal + its interest
    assert balance(engine, partners.funding_account(partner)) == 0
    assert balance(engine, partners.payable_account(partner)) == partner_principal + partner_interest
    with reading(engine) as connection:
        assert service.loan_row(connection, loan_id)["status"] == "paid_off"
    sound(engine)

    # paying the partner over leaves the platform's reserve still covering every wallet
    owed = partner_principal + partner_interest
    world.run(lambda uow: partners.pay_partner(uow, partner, owed, "ptn.pay.1"))
    assert balance(engine, partners.payable_account(partner)) == 0
    sound(engine)
    with pytest.raises(partners.PayoutTooLarge):
        world.run(lambda uow: partners.pay_partner(uow, partner, 1, "ptn.pay.2"))


def test_facilitation_partner_funds_all_and_platform_earns_a_service_fee(engine, clock):
    world = World(engine, clock)
    partner = funding_partner(world)
    world.product(FACILITATED)
    world.run(lambda uow: partners.fund_product(uow, "assist-0", partner, Decimal("0.25")))
    operating_before = -balance(engine, reserve.OPERATING)  # debit-normal asset
    cid = world.customer()
    loan_id = world.loan(cid, "assist-0", 6_000_00, 6)
    assert balance(engine, partners.funding_account(partner)) == 6_000_00
    assert -balance(engine, reserve.OPERATING) == operating_before  # none of the platform's own cash lent
    fee_income_before = balance(engine, "platform.fee_income.CNY")

    world.clock.advance(days=31)
    world.repay(loan_id, cid)  # the first instalment
    world.clock.advance(days=10)
    world.repay(loan_id, cid, kind="early_full")
    paid = repayments_of(engine, loan_id)
    total_interest = sum(r["interest"] for r in paid)
    service_fee = half_up(total_interest * Decimal("0.25"))
    split = [e for e in events(engine, loan_id) if e["event"] == "repayment"]
    assert sum(e["partner_principal"] for e in split) == 6_000_00
    assert sum(e["partner_interest"] for e in split) == total_interest - service_fee
    assert balance(engine, "platform.fee_income.CNY") - fee_income_before == service_fee + sum(
        r["early_fee"] for r in paid
    )
    assert balance(engine, partners.funding_account(partner)) == 0
    assert balance(engine, partners.payable_account(partner)) == 6_000_00 + total_interest - service_fee
    sound(engine)


def test_written_off_joint_loan_shares_the_loss(engine, clock):
    world = World(engine, clock)
    partner = funding_partner(world)
    world.product(JOINT)
    world.run(lambda uow: partners.fund_product(uow, "joint-30", partner))
    cid = world.customer()
    loan_id = world.loan(cid, "joint-30", 5_000_00, 6)
    start = world.today()
    world.clock.advance(days=31)
    world.repay(loan_id, cid)
    repaid = sum(e["partner_principal"] for e in events(engine, loan_id) if e["event"] == "repayment")
    left = 3_500_00 - repaid
    assert balance(engine, partners.funding_account(partner)) == left > 0
    late = start + dt.timedelta(days=400)
    world.clock.advance(days=(late - world.today()).days)
    assert world.eod(late).ran
    with reading(engine) as connection:
        assert service.loan_row(connection, loan_id)["status"] == "written_off"
        text = partners.partner_file(connection, partner, late)
    assert balance(engine, partners.funding_account(partner)) == 0
    [line] = list(csv.DictReader(io.StringIO(text)))
    assert (line["event"], line["partner_principal"]) == ("write_off", f"{Decimal(left) / 100:.2f}")
    sound(engine)


def test_refusals_store_nothing(engine, clock):
    world = World(engine, clock)
    partner = funding_partner(world)
    world.product(MONTHLY)
    world.product(JOINT)  # no partner assigned yet
    cid = world.customer()
    application = world.run(lambda uow: service.apply(uow, cid, "joint-30", 5_000_00, 6, INCOME))
    offer = world.run(lambda uow: service.make_offer(uow, application["id"], cid))
    before = snapshot(engine)
    with pytest.raises(PartnerShareTooLow) as refused:
        world.product({**JOINT, "code": "joint-20", "platform_share": "0.2"})
    assert refused.value.code == "partner_share_too_low"
    with pytest.raises(partners.NoFundingPartner):
        world.run(lambda uow: service.accept(uow, offer["id"], cid))
    with pytest.raises(partners.FundingInvalid):  # own-book product
        world.run(lambda uow: partners.fund_product(uow, "cash-12", partner))
    with pytest.raises(partners.FundingInvalid):  # a service fee outside facilitation
        world.run(lambda uow: partners.fund_product(uow, "joint-30", partner, Decimal("0.1")))
    with pytest.raises(partners.PartnerNotFound):
        world.run(lambda uow: partners.fund_product(uow, "joint-30", "ptn_nobody"))
    after = snapshot(engine)
    assert after == before
    with reading(engine) as connection:
        assert all(connection.execute(select(t)).first() is None for t in PARTNER_TABLES[1:])


def test_partner_file_lists_exactly_that_days_events(engine, clock):
    world = World(engine, clock)
    bank_a, bank_b = funding_partner(world, "甲银行"), funding_partner(world, "乙银行")
    world.product(JOINT)
    world.product({**JOINT, "code": "joint-50", "platform_share": "0.5"})
    world.run(lambda uow: partners.fund_product(uow, "joint-30", bank_a))
    world.run(lambda uow: partners.fund_product(uow, "joint-50", bank_b))
    c1, c2 = world.customer(), world.customer()
    day1 = world.today()
    loan_a = world.loan(c1, "joint-30", 3_000_00, 6)
    loan_b = world.loan(c2, "joint-50", 4_000_00, 6)
    world.clock.advance(days=31)
    day2 = world.today()
    world.repay(loan_a, c1)
    world.repay(loan_b, c2)
    repayment = repayments_of(engine, loan_a)[0]

    with reading(engine) as connection:
        first = list(csv.DictReader(io.StringIO(partners.partner_file(connection, bank_a, day1))))
        second = list(csv.DictReader(io.StringIO(partners.partner_file(connection, bank_a, day2))))
        empty = partners.partner_file(connection, bank_a, day1 + dt.timedelta(days=1))
        other = list(csv.DictReader(io.StringIO(partners.partner_file(connection, bank_b, day1))))
    assert first == [
        {
            "business_date": day1.isoformat(),
            "loan_id": loan_a,
            "event": "disbursement",
            "principal": "3000.00",
            "interest": "0.00",
            "partner_principal": "2100.00",
            "partner_interest": "0.00",
        }
    ]
    [line] = second
    assert (line["loan_id"], line["event"]) == (loan_a, "repayment")
    p, i = repayment["principal"], repayment["interest"]
    assert line["principal"] == f"{Decimal(p) / 100:.2f}" and line["interest"] == f"{Decimal(i) / 100:.2f}"
    assert line["partner_principal"] == f"{Decimal(p - half_up(p * Decimal('0.3'))) / 100:.2f}"
    assert line["partner_interest"] == f"{Decimal(i - half_up(i * Decimal('0.3'))) / 100:.2f}"
    assert empty.splitlines() == ["business_date,loan_id,event,principal,interest,partner_principal,partner_interest"]
    assert [(x["loan_id"], x["partner_principal"]) for x in other] == [(loan_b, "2000.00")]
    sound(engine)
