"""Supervision dashboard data on SQLite and PostgreSQL, checked against hand-computed figures on a
small world (payments, a late loan, a money-market fund T+0 redemption), thresholds flagging breaches."""

from __future__ import annotations

import datetime as dt

import pytest

from puhui.db import reading, transaction
from puhui.identity.service import customer_wallet_id
from puhui.ledger.audit import audit
from puhui.ledger.models import Transfer, TransferResult
from puhui.ledger.service import create_transfers
from puhui.lending import accounts as lending_accounts
from puhui.lending.tables import loan_instalments, loans
from puhui.payments.reserve import RESERVE
from puhui.regtech import dashboard as board
from puhui.wealth.mmf.tables import mmf_orders

from .test_reports_world import World, china

Y = 100


def loan(engine, lid: str, customer: str, principal: int, paid: int, dpd: int, bucket: str, day: dt.date) -> None:
    row = {
        "id": lid,
        "customer_id": customer,
        "product_code": "p",
        "principal": principal,
        "annual_rate": "0.1",
        "penalty_rate_e6": 0,
        "method": "equal_instalment",
        "term": 1,
        "grace_days": 0,
        "start_day": day.toordinal(),
        "status": "active",
        "days_past_due": dpd,
        "bucket": bucket,
        "loan_class": "normal",
        "penalty_accrued": 0,
        "written_off": 0,
        "recovered": 0,
        "created_at": 0,
    }
    instalment = {
        "loan_id": lid,
        "number": 1,
        "period_start_day": day.toordinal(),
        "due_day": day.toordinal() + 30,
        "principal": principal,
        "interest": 0,
        "fee": 0,
        "principal_paid": paid,
        "interest_paid": 0,
        "fee_paid": 0,
        "interest_accrued": 0,
        "fee_recognized": 0,
    }

    def work(uow):  # type: ignore[no-untyped-def]
        uow.execute(loans.insert().values(**row))
        uow.execute(loan_instalments.insert().values(**instalment))
        # The loan book is the ledger's principal receivable: lent, less what was repaid (the cash side is
        # no part of these figures, so it is the fee income account here, not a wallet).
        lending_accounts.open_accounts(uow, lid)
        moves = [Transfer(f"dsb.{lid}", f"loan.{lid}.principal", lending_accounts.FEE_INCOME, principal, "CNY", "t")]
        if paid:
            moves.append(Transfer(f"rp.{lid}", lending_accounts.FEE_INCOME, f"loan.{lid}.principal", paid, "CNY", "t"))
        assert all(r == TransferResult.ok for r in create_transfers(uow, moves))

    transaction(engine, work)


def fast_redeem(engine, oid: str, customer: str, amount: int, day: str) -> None:
    row = {
        "id": oid,
        "fund_code": "PH0001",
        "customer_id": customer,
        "kind": "fast_redeem",
        "amount": amount,
        "status": "settled",
        "trade_date": day,
        "due_date": day,
        "created_at": china(day),
    }
    transaction(engine, lambda uow: uow.execute(mmf_orders.insert().values(**row)))


@pytest.fixture
def small(engine, clock):
    w = World(engine)
    a, b, c = w.customer(), w.customer(), w.customer()
    m1, m2 = w.merchant(), w.merchant()
    w.payment(a, m1, 300 * Y, china("2026-01-02"), "qr")
    w.payment(b, m1, 100 * Y, china("2026-01-03"), "qr")
    w.payment(a, b, 600 * Y, china("2026-01-03"), "p2p")
    w.payment(c, m2, 50 * Y, china("2026-01-04"), "qr")
    w.payment(c, m2, 9_999 * Y, china("2026-01-06"), "qr")  # after the range
    day = dt.date(2026, 1, 3)
    loan(engine, "L1", a, 1_000 * Y, 200 * Y, 0, "current", day)  # outstanding 800
    loan(engine, "L2", b, 500 * Y, 0, 45, "M2", day)  # late: outstanding 500
    loan(engine, "L3", c, 300 * Y, 0, 120, "M3+", dt.date(2025, 6, 1))  # outstanding 300, disbursed before
    fast_redeem(engine, "o1", a, 150 * Y, "2026-01-02")
    fast_redeem(engine, "o2", b, 100 * Y, "2026-01-03")
    fast_redeem(engine, "o3", c, 100 * Y, "2026-01-03")
    # Money through the ledger: 1,000 into a wallet backed by the reserve; 500 of reserve invested by the fund.
    results = transaction(
        engine,
        lambda uow: create_transfers(
            uow,
            [
                Transfer("dash.topup", RESERVE, customer_wallet_id(a), 1_000 * Y, "CNY", "top_up"),
                Transfer("dash.invest", "mmf.PH0001.portfolio", RESERVE, 500 * Y, "CNY", "mmf_invest"),
            ],
        ),
    )
    assert all(r == TransferResult.ok for r in results), results
    return w


def test_dashboard_figures_match_the_hand_computed_values(engine, small):
    with reading(engine) as connection:
        data = board.dashboard(connection, dt.date(2026, 1, 1), dt.date(2026, 1, 4))
        assert audit(connection).ok
    flows = data["flows"]
    assert flows["payments"] == {"count": 4, "amount": "1050.00"}
    assert flows["lending_disbursements"] == {"count": 2, "amount": "1500.00"}
    assert flows["mmf_redemptions"] == {"count": 3, "amount": "350.00"}
    assert flows["mmf_subscriptions"] == {"count": 0, "amount": "0.00"}
    assert data["outstanding_principal"] == "1600.00"
    i = data["indicators"]
    assert i["overdue_m1_plus"]["value"] == "0.500000"  # (500 + 300) / 1600
    assert i["overdue_m3_plus"]["value"] == "0.187500"  # 300 / 1600
    assert i["top10_borrowers_share"]["value"] == "1.000000"  # three borrowers only
    assert i["top10_merchants_share"]["value"] == "0.428571"  # (400 + 50) / 1050: the p2p is no merchant's
    assert i["reserve_coverage"]["value"] == "0.500000"  # reserve 1000 − 500 invested, wallets owe 1000
    liquidity = i["fast_redemption_liquidity"]
    assert liquidity["value"] == "0.400000" and liquidity["peak_day"] == "2026-01-03"  # 200 / 500
    assert data["warnings"] == sorted(
        ["overdue_m1_plus", "overdue_m3_plus", "top10_borrowers_share", "reserve_coverage", "fast_redemption_liquidity"]
    )
    assert not i["top10_merchants_share"]["breach"]


def test_a_narrow_range_changes_the_flows_and_leaves_out_the_loans_disbursed_after_it(engine, small):
    with reading(engine) as connection:
        data = board.dashboard(connection, dt.date(2026, 1, 2), dt.date(2026, 1, 2))
    assert data["flows"]["payments"] == {"count": 1, "amount": "300.00"}
    assert data["indicators"]["top10_merchants_share"]["value"] == "1.000000"
    assert data["indicators"]["fast_redemption_liquidity"]["value"] == "0.300000"  # 150 / 500
    assert data["outstanding_principal"] == "300.00"  # L1 and L2 were disbursed on Jan 3, after `to`: L3 only
    assert data["outstanding_basis"] == "as of now, loans disbursed by 2026-01-02"
    assert data["indicators"]["overdue_m3_plus"]["value"] == "1.000000"  # L3 is M3+
    assert data["indicators"]["top10_borrowers_share"]["borrowers"] == 1


def test_an_empty_platform_flags_nothing(engine, clock):
    with reading(engine) as connection:
        data = board.dashboard(connection, dt.date(2026, 1, 1), dt.date(2026, 1, 4))
    assert data["warnings"] == [] and data["indicators"]["overdue_m1_plus"]["value"] is None


def test_a_reversed_range_is_refused(engine, clock):
    with reading(engine) as connection, pytest.raises(board.InvalidRange):
        board.dashboard(connection, dt.date(2026, 1, 4), dt.date(2026, 1, 1))


def test_alerts_by_typology_in_the_range_and_open_cases(engine, clock):
    from puhui.clock import day_bounds
    from puhui.db import transaction
    from puhui.regtech.tables import monitor_alerts, monitor_cases

    inside = day_bounds(dt.date(2026, 1, 2))[0] + 3_600_000_000
    outside = day_bounds(dt.date(2026, 1, 9))[0]

    def alert(n: int, typology: str, at: int, raised: int | None = None) -> dict:
        return {
            "id": f"a{n}",
            "rule_code": typology,
            "rule_version": 1,
            "typology": typology,
            "party": f"c{n}",
            "window_start": 0,
            "window_end": 1,
            "amount": 1,
            "evidence": "[]",
            "position": n,
            "event_at": at,
            "raised_at": raised or at,
            "case_id": None,
        }

    def case(n: int, status: str) -> dict:
        return {
            "id": f"k{n}",
            "status": status,
            "party": f"c{n}",
            "assignee": None,
            "opened_by": "admin",
            "opened_at": inside,
            "updated_at": inside,
        }

    def work(uow):  # type: ignore[no-untyped-def]
        uow.execute(
            monitor_alerts.insert(),
            [
                alert(1, "fan_in", inside),
                alert(2, "fan_in", inside, raised=outside),
                alert(3, "structuring", inside),
                alert(4, "fan_in", outside, inside),
            ],
        )
        # a2: a monitor catching up a week later still counts it on its day; a4 the other way round
        uow.execute(
            monitor_cases.insert(),
            [case(1, "investigating"), case(2, "reported"), case(3, "closed_false_positive"), case(4, "open")],
        )

    transaction(engine, work)
    with reading(engine) as connection:
        data = board.dashboard(connection, dt.date(2026, 1, 1), dt.date(2026, 1, 4))
    assert data["alerts"] == {"by_typology": {"fan_in": 2, "structuring": 1}, "total": 3, "open_cases": 2}
