"""The reserve end of day on SQLite and PostgreSQL: earned premium and UPR by hand for a few policies
across days, a cooling-off cancellation and one after it; the insurer's books on the ledger moved only
by differences; a policy's earned premium over its life is its premium less its refund, to the fen;
running a date again moves nothing and a future date is refused; the ledger audit passes."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from puhui import clock as clock_module
from puhui.db import reading, transaction
from puhui.eod.errors import BusinessDateInFuture, BusinessDateNotOver
from puhui.insurance.models import Cover, unearned_reserve
from puhui.insurance.reserves import books, claims_source, models, service
from puhui.insurance.reserves.seed import PolicyRow, seed_policies
from puhui.ledger.audit import audit
from puhui.ledger.service import get_account

D = dt.date
INSURER = "ptn_reserves_1"
_serial = itertools.count()


def policy(
    insurer: str, premium: int, start: D, sold: D, cancelled_on: D | None = None, refund: int | None = None
) -> PolicyRow:
    n = next(_serial)
    cover_end = start.replace(year=start.year + 1)
    return PolicyRow(
        f"pol_r{n}",
        f"cus_r{n}",
        f"c{n}",
        "med-e",
        1,
        insurer,
        30,
        True,
        premium,
        start,
        cover_end,
        "active" if cancelled_on is None else "cancelled",
        refund,
        clock_module.day_bounds(sold)[0] + 1,
        None if cancelled_on is None else clock_module.day_bounds(cancelled_on)[1] - 1,
    )


def over(clock, day: D) -> None:  # type: ignore[no-untyped-def]
    """The clock at 00:05 China time after `day`: the day is over, its end of day may run."""
    clock.set(clock_module.china_midnight(day + dt.timedelta(days=1)) + dt.timedelta(minutes=5))


def seed(engine, rows: list[PolicyRow]) -> None:  # type: ignore[no-untyped-def]
    transaction(engine, lambda uow: seed_policies(uow.connection, rows))


def balance(engine, insurer: str, part: str) -> int:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        account = get_account(connection, books.account_id(insurer, part))
    if account is None:
        return 0
    net = account.credits_posted - account.debits_posted
    return -net if part in books.DEBIT_NORMAL else net


def transfer_count(engine) -> int:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return audit(connection).transfers


def assert_audit_clean(engine) -> None:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        report = audit(connection)
    assert report.ok, report


def test_earned_and_upr_by_hand_with_cancellations(engine, clock):
    sold = D(2025, 12, 31)
    a = policy(INSURER, 36500, D(2026, 1, 1), sold)  # 365 days: 100 fen a day
    b = policy(INSURER, 10000, D(2026, 1, 2), sold, cancelled_on=D(2026, 1, 3), refund=10000)  # cooling-off
    c_cover = Cover(D(2026, 1, 1), D(2027, 1, 1), 1000)
    assert unearned_reserve(c_cover, D(2026, 1, 4)) == 990  # floor(1000 × 4 / 365) = 10 earned
    c = policy(INSURER, 1000, D(2026, 1, 1), sold, cancelled_on=D(2026, 1, 4), refund=990)
    seed(engine, [a, b, c])
    expected = {  # day: (earned, refunded, upr) by hand
        D(2026, 1, 1): (100 + 0 + 2, 0, 47500 - 102),
        D(2026, 1, 2): (200 + 27 + 5, 0, 47500 - 232),
        D(2026, 1, 3): (300 + 0 + 8, 10000, 47500 - 10000 - 308),  # b's 27 earned goes back
        D(2026, 1, 4): (400 + 0 + 10, 10990, 36500 - 400),
    }
    for day, (earned, refunded, upr) in expected.items():
        answer = service.run_reserves(engine, day)
        assert answer["insurers"] == 1 and answer["transfers"] >= 1, answer
        assert (balance(engine, INSURER, "earned"), balance(engine, INSURER, "upr")) == (earned, upr), day
        assert balance(engine, INSURER, "receivable") == 47500 - refunded
        with reading(engine) as connection:
            shown = service.reserves_json(connection, INSURER, day)
        assert shown["earned"] == f"{earned / 100:.2f}" and shown["upr"] == f"{upr / 100:.2f}"
        assert shown["written"] == "475.00" and shown["refunded"] == f"{refunded / 100:.2f}"
    assert_audit_clean(engine)


def test_a_date_runs_once_and_a_future_date_is_refused(engine, clock):
    seed(engine, [policy(INSURER, 36500, D(2026, 1, 1), D(2025, 12, 31))])
    first = service.run_reserves(engine, D(2026, 1, 3))
    assert first["transfers"] == 2 and first["already_done"] is False  # written and earned
    moved = transfer_count(engine)
    again = service.run_reserves(engine, D(2026, 1, 3))
    assert again["transfers"] == 0 and again["already_done"] is True
    assert transfer_count(engine) == moved
    with reading(engine) as connection:
        assert (
            service.run_day.__name__ and service.reserves_json(connection, INSURER, D(2026, 1, 3))["earned"] == "3.00"
        )
    today = clock_module.business_date()
    with pytest.raises(BusinessDateNotOver):
        service.run_reserves(engine, today)
    with pytest.raises(BusinessDateInFuture):
        service.run_reserves(engine, today + dt.timedelta(days=1))
    assert transfer_count(engine) == moved
    assert_audit_clean(engine)


def random_book(insurer: str, seed_value: int, count: int) -> list[PolicyRow]:
    draw = random.Random(seed_value)
    rows = []
    for _ in range(count):
        sold = D(2026, 1, 1) + dt.timedelta(days=draw.randrange(0, 20))
        start = sold + dt.timedelta(days=1)
        premium = draw.randrange(1, 5_000_00)
        cover = Cover(start, start.replace(year=start.year + 1), premium)
        kind = draw.choice(["active", "active", "cooling_off", "later"])
        if kind == "cooling_off":
            rows.append(
                policy(insurer, premium, start, sold, start + dt.timedelta(days=draw.randrange(0, 15)), premium)
            )
        elif kind == "later":
            on = start + dt.timedelta(days=draw.randrange(15, cover.days))
            rows.append(policy(insurer, premium, start, sold, on, unearned_reserve(cover, on)))
        else:
            rows.append(policy(insurer, premium, start, sold))
    return rows


def pure_earned(rows: list[PolicyRow], day: D) -> int:
    total = 0
    for row in rows:
        if clock_module.china_date(row.created_at) > day:
            continue
        cancelled = None if row.cancelled_at is None else clock_module.china_date(row.cancelled_at)
        total += models.policy_earned_through(
            Cover(row.start_date, row.end_date, row.premium), day, cancelled, row.refund
        )
    return total


def test_a_policy_earns_its_premium_less_its_refund_over_its_life(engine, clock):
    rows = random_book(INSURER, seed_value=7, count=25)
    seed(engine, rows)
    over(clock, D(2026, 12, 31))
    service.run_reserves(engine, D(2026, 1, 1))
    service.run_reserves(engine, D(2026, 12, 31))
    clock.set(dt.datetime(2027, 1, 25, 2, tzinfo=dt.UTC))
    service.run_reserves(engine, D(2027, 1, 22))  # every cover has ended
    with reading(engine) as connection:
        for day in (D(2026, 1, 1), D(2026, 1, 10), D(2026, 3, 31), D(2026, 12, 31), D(2027, 1, 22)):
            assert service.reserves_json(connection, INSURER, day)["earned"] == f"{pure_earned(rows, day) / 100:.2f}"
    premiums = sum(r.premium for r in rows)
    refunds = sum(r.refund or 0 for r in rows)
    assert balance(engine, INSURER, "earned") == premiums - refunds  # to the fen
    assert balance(engine, INSURER, "upr") == 0
    assert balance(engine, INSURER, "receivable") == premiums - refunds
    assert_audit_clean(engine)


_insurers = itertools.count()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed_value=st.integers(0, 10_000),
    count=st.integers(1, 12),
    steps=st.lists(st.integers(1, 60), min_size=1, max_size=5),
)
def test_the_books_always_hold_the_policies_figures(engine, clock, seed_value, count, steps):
    """Whatever the book and whichever dates run (in order, with gaps), the ledger's earned premium is
    the policies' earned to the fen and UPR + earned + refunds = written."""
    insurer = f"ptn_h{next(_insurers)}"
    rows = random_book(insurer, seed_value, count)
    seed(engine, rows)
    day = D(2025, 12, 31)
    for step in steps:
        day += dt.timedelta(days=step)
        transaction(engine, lambda uow, d=day: service.run_day(uow, d))
        earned, upr = balance(engine, insurer, "earned"), balance(engine, insurer, "upr")
        written = sum(r.premium for r in rows if clock_module.china_date(r.created_at) <= day)
        refunded = sum(
            r.refund or 0 for r in rows if r.cancelled_at is not None and clock_module.china_date(r.cancelled_at) <= day
        )
        assert earned == pure_earned(rows, day)
        assert upr + earned + refunded == written and upr >= 0


class FakeClaims:
    """Stands in for `puhui.insurance.claims.queries` (claim_payments, open_claims) with set rows."""

    def __init__(self) -> None:
        self.payments: list[SimpleNamespace] = []
        self.open: list[SimpleNamespace] = []

    def pay(self, accident: D, paid: D, yuan: str) -> None:
        self.payments.append(
            SimpleNamespace(insurer_id=INSURER, accident_date=accident, paid_date=paid, amount=Decimal(yuan))
        )

    def claim_payments(self, connection, through: D) -> list[SimpleNamespace]:  # type: ignore[no-untyped-def]
        return [p for p in self.payments if p.paid_date <= through]

    def open_claims(self, connection, through: D) -> list[SimpleNamespace]:  # type: ignore[no-untyped-def]
        return [c for c in self.open if c.reported_date <= through]


def test_claims_reserves_move_by_difference_and_ibnr_by_chain_ladder(engine, clock, monkeypatch):
    fake = FakeClaims()
    monkeypatch.setattr(claims_source, "_queries", lambda: fake)
    seed(engine, [policy(INSURER, 36500, D(2025, 11, 1), D(2025, 10, 31))])
    fake.pay(D(2025, 11, 10), D(2025, 11, 20), "100.00")
    fake.pay(D(2025, 11, 10), D(2025, 12, 15), "50.00")
    fake.pay(D(2025, 12, 5), D(2025, 12, 10), "110.00")
    fake.pay(D(2026, 1, 2), D(2026, 1, 3), "120.00")
    fake.open.append(SimpleNamespace(insurer_id=INSURER, reported_date=D(2025, 12, 1), case_estimate=Decimal("10.00")))
    service.run_reserves(engine, D(2026, 1, 4))
    # triangle Nov (10000, 15000, 15000), Dec (11000, 11000), Jan (12000): f0 = 26000/21000, f1 = 1;
    # Jan's ultimate 12000 × 26000/21000 = 14857, unpaid 2857, less the case estimate 1000
    assert balance(engine, INSURER, "claims_paid") == 38000
    assert balance(engine, INSURER, "case_reserve") == 1000
    assert balance(engine, INSURER, "ibnr") == 1857
    assert balance(engine, INSURER, "reserve_expense") == 2857
    fake.open.clear()  # the claim closes without payment: its case estimate goes, IBNR takes the unpaid
    over(clock, D(2026, 1, 5))
    service.run_reserves(engine, D(2026, 1, 5))
    assert (balance(engine, INSURER, "case_reserve"), balance(engine, INSURER, "ibnr")) == (0, 2857)
    assert balance(engine, INSURER, "reserve_expense") == 2857
    with reading(engine) as connection:
        shown = service.reserves_json(connection, INSURER, D(2026, 1, 5))
        figures = service.ratios_json(connection, INSURER, D(2026, 1, 5))
        ageing = service.claims_ageing_json(connection, INSURER, D(2026, 1, 4))
    assert shown["ibnr"] == "28.57" and shown["paid"] == "380.00"
    earned = balance(engine, INSURER, "earned")
    assert figures["incurred"] == "408.57" and figures["loss_ratio"] == str(models.ratio(38000 + 2857, earned))
    fake.open.append(SimpleNamespace(insurer_id=INSURER, reported_date=D(2025, 12, 1), case_estimate=Decimal("10.00")))
    with reading(engine) as connection:
        ageing = service.claims_ageing_json(connection, INSURER, D(2026, 1, 4))
    assert ageing["buckets"][1] == {"bucket": "31-90", "claims": 1, "case_estimate": "10.00"}
    assert_audit_clean(engine)


def test_the_eod_command_runs_a_date_once_and_refuses_the_future(engine, clock):
    from typer.testing import CliRunner

    from puhui.cli import app as puhui_cli

    seed(engine, [policy(INSURER, 36500, D(2026, 1, 1), D(2025, 12, 31))])
    db = engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    ran = runner.invoke(puhui_cli, ["insurance", "eod", "--date", "2026-01-02", "--db", db])
    assert ran.exit_code == 0, ran.output
    assert '"transfers": 2' in ran.output and balance(engine, INSURER, "earned") == 200
    again = runner.invoke(puhui_cli, ["insurance", "eod", "--date", "2026-01-02", "--db", db])
    assert again.exit_code == 0 and '"transfers": 0' in again.output
    future = runner.invoke(puhui_cli, ["insurance", "eod", "--date", "2027-01-01", "--db", db])
    assert future.exit_code != 0 and "business_date_in_future" in future.output
    assert balance(engine, INSURER, "earned") == 200


def test_combined_ratio_takes_the_settlement_commission_and_the_insurers_ratios(engine, clock):
    from puhui.identity import org
    from puhui.insurance import service as insurance
    from puhui.insurance.reserves.errors import ReserveTermsInvalid
    from puhui.insurance.settlement import models as settlement_models
    from puhui.insurance.settlement import service as settlement

    actor = SimpleNamespace(id="admin", role="admin")

    def setup(uow):  # type: ignore[no-untyped-def]
        partner, _ = org.create_partner(uow, "众安保险", actor)
        insurance.register_insurer(uow, partner)
        return partner

    insurer = transaction(engine, setup)
    schedule = settlement_models.Schedule(settlement_models.MONTHLY, 5)
    transaction(
        engine,
        lambda uow: settlement.set_terms(uow, insurer, Decimal("0.155"), schedule, "工商银行", "6222000011112222"),
    )
    terms = service.Terms(Decimal("0.65"), Decimal("0.2"), Decimal("0.05"))
    transaction(engine, lambda uow: service.set_terms(uow, insurer, terms))
    with pytest.raises(ReserveTermsInvalid):
        transaction(
            engine, lambda uow: service.set_terms(uow, insurer, service.Terms(Decimal("-0.1"), Decimal(0), Decimal(0)))
        )
    seed(engine, [policy(insurer, 36500, D(2026, 1, 1), D(2025, 12, 31))])
    service.run_reserves(engine, D(2026, 1, 4))
    with reading(engine) as connection:
        figures = service.ratios_json(connection, insurer, D(2026, 1, 4))
        assert service.get_terms(connection, insurer).expected_loss_ratio == Decimal("0.65")
    assert figures["earned"] == "4.00" and figures["loss_ratio"] == "0.0000"
    assert (figures["commission_ratio"], figures["expense_ratio"], figures["combined_ratio"]) == (
        "0.155",
        "0.05",
        "0.2050",
    )


@given(
    premium=st.integers(1, 10_000_000),
    start=st.dates(D(2024, 1, 1), D(2030, 12, 31)),
    cancel_after=st.one_of(st.none(), st.integers(0, 365)),
)
def test_earned_over_a_life_plus_refund_is_the_premium(premium, start, cancel_after):
    """Day by day, the earned premium never falls after cover starts unless a cooling-off refund takes
    it back, and over the policy's life earned + refund = premium, to the fen."""
    from puhui.insurance.models import AgeBand, MedicalProduct, cancellation_refund, one_year_from

    product = MedicalProduct("med-e", 1, "尊享e生", (AgeBand(0, 100, 100, 100),))
    cover = one_year_from(start, premium)
    cancelled_on = (
        None if cancel_after is None else min(start + dt.timedelta(days=cancel_after), cover.end - dt.timedelta(days=1))
    )
    refund = None if cancelled_on is None else cancellation_refund(product, cover, cancelled_on)
    days = [cover.start + dt.timedelta(days=n) for n in range(-1, cover.days + 1)]
    earned = [models.policy_earned_through(cover, day, cancelled_on, refund) for day in days]
    daily = [b - a for a, b in zip(earned, earned[1:], strict=False)]
    assert earned[0] == 0 and sum(daily) == earned[-1]
    assert earned[-1] + (refund or 0) == premium
    assert all(d >= 0 for d, day in zip(daily, days[1:], strict=True) if day != cancelled_on)
