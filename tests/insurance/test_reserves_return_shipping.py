"""The reserve end of day with both lines of business on SQLite and PostgreSQL: return-shipping covers
(退货运费险) earned over their term and at their claim on the insurer's return-shipping books; each line's
figures those of the pure functions over the same policies, the totals the sum of the lines, the ledger's
books (each line's accounts) those figures, a date run again moving nothing, and the ledger audit clean
(`puhui audit` too)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from typer.testing import CliRunner

from puhui import clock as clock_module
from puhui.cli import app as puhui_cli
from puhui.db import reading, transaction
from puhui.insurance.reserves import books, lines, return_line, returns_source, service
from puhui.insurance.reserves.models import Payment
from puhui.insurance.reserves.return_line import ReturnCover
from puhui.insurance.returns.tables import return_shipping_claims, return_shipping_policies
from puhui.ledger.audit import audit
from puhui.ledger.service import get_account
from tests.insurance.test_reserves import INSURER, assert_audit_clean, over, pure_earned, random_book, seed

D = dt.date
DAY = dt.timedelta(days=1)
HOUR = 3_600_000_000
PARTS = {"upr": "upr", "earned": "earned", "paid": "claims_paid", "case_reserve": "case_reserve", "ibnr": "ibnr"}


MOMENTS = (0, 1, 9 * HOUR, 23 * HOUR, 24 * HOUR - 1)  # into a China date, from its first to its last µs


def seed_covers(  # type: ignore[no-untyped-def]
    engine, insurer: str, covers: list[ReturnCover], seed_value: int = 0, moments: tuple[int, ...] = MOMENTS
) -> None:
    """The covers as the returns module stores them, each bought and claimed at one of `moments` into its
    China date."""
    draw = random.Random(seed_value)

    def at(day: D) -> int:
        return clock_module.day_bounds(day)[0] + draw.choice(moments)

    policies, claims = [], []
    for n, c in enumerate(covers):
        pid = f"rsp_{insurer[-6:]}_{seed_value}_{n}"
        policies.append(
            {
                "id": pid,
                "payment_id": f"pay_{pid}",
                "customer_id": f"cus_{n % 7}",
                "client_id": pid,
                "merchant_id": "mch_1",
                "insurer_id": insurer,
                "product_code": "rs-basic",
                "product_version": 1,
                "order_amount": 100_00,
                "premium": c.premium,
                "claim_amount": c.claim_amount,
                "return_probability": format(c.return_probability, "f"),
                "status": "active" if c.claimed_on is None else "claimed",
                "created_at": at(c.order_day),
            }
        )
        if c.claimed_on is not None:
            claims.append(
                {
                    "id": f"rsc_{pid}",
                    "policy_id": pid,
                    "customer_id": f"cus_{n % 7}",
                    "merchant_id": "mch_1",
                    "amount": c.claim_amount,
                    "transfer_id": f"rsi.{pid}.claim",
                    "created_at": at(c.claimed_on),
                }
            )

    def write(uow):  # type: ignore[no-untyped-def]
        uow.execute(return_shipping_policies.insert(), policies)
        if claims:
            uow.execute(return_shipping_claims.insert(), claims)

    transaction(engine, write)


def booked(engine, insurer: str, line: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A line's books on the ledger, each on its normal side."""
    found = {}
    with reading(engine) as connection:
        for name, part in {**PARTS, "receivable": "receivable"}.items():
            account = get_account(connection, books.account_id(insurer, part, line))
            net = 0 if account is None else account.credits_posted - account.debits_posted
            found[name] = -net if part in books.DEBIT_NORMAL else net
    return found


def report(engine, insurer: str, day: D) -> dict:  # type: ignore[no-untyped-def]
    with reading(engine) as connection:
        return service.reserves_json(connection, insurer, day)


def fen(text: str) -> int:
    return int(Decimal(text) * 100)


def shown_line(answer: dict, line: str) -> dict:
    (found,) = [entry for entry in answer["lines"] if entry["line"] == line]
    return found


def run_day(engine, day: D) -> dict:  # type: ignore[no-untyped-def]
    return transaction(engine, lambda uow: service.run_day(uow, day))


def test_a_cover_sold_today_on_the_books_day_by_day(engine, clock):
    sold = D(2026, 1, 1)
    running = ReturnCover(sold, 150, 12_00, Decimal("0.1"))
    claimed = ReturnCover(sold, 172, 12_00, Decimal("0.1"), claimed_on=sold + 3 * DAY)
    seed_covers(engine, INSURER, [running, claimed])
    expected = {  # day: (earned, paid) by hand; the claimed cover is all earned from its claim
        sold: (10 + 11, 0),  # day 0: 1/15 of each
        sold + 2 * DAY: (30 + 34, 0),
        sold + 3 * DAY: (40 + 172, 12_00),
        sold + 6 * DAY: (70 + 172, 12_00),  # mid-term
        sold + 13 * DAY: (140 + 172, 12_00),
        sold + 14 * DAY: (150 + 172, 12_00),  # the window closed: all earned
    }
    for day, (earned, paid) in expected.items():
        run_day(engine, day)
        rs = booked(engine, INSURER, lines.RETURN_SHIPPING)
        assert (rs["earned"], rs["upr"], rs["paid"]) == (earned, 322 - earned, paid), day
        assert rs["receivable"] == 322 - paid  # premiums written less claims paid
        shown = report(engine, INSURER, day)
        line = shown_line(shown, lines.RETURN_SHIPPING)
        assert (fen(line["earned"]), fen(line["upr"]), fen(line["written"])) == (earned, 322 - earned, 322)
        assert (fen(shown["earned"]), fen(shown["upr"]), shown["policies"]) == (earned, 322 - earned, 2)
        medical = shown_line(shown, lines.MEDICAL)
        assert medical["written"] == medical["earned"] == "0.00" and medical["policies"] == 0
    # while the running cover ran, its a priori claim (0.1 × 12.00) over its days run was IBNR; none after
    assert booked(engine, INSURER, lines.RETURN_SHIPPING)["ibnr"] == 0
    assert booked(engine, INSURER, lines.MEDICAL)["earned"] == 0  # the medical books never moved
    assert_audit_clean(engine)


def rs_book(insurer: str, seed_value: int) -> list[ReturnCover]:
    """Covers bought from 2026-01-01 over 110 days, returned with their priced probability 2 to 12 days on."""
    draw = random.Random(seed_value)
    covers = []
    for n in range(110):
        for _ in range(draw.randrange(0, 5)):
            probability = Decimal(draw.randrange(5, 40)) / 100
            claimed = D(2026, 1, 1) + (n + draw.randrange(2, 13)) * DAY if draw.random() < probability else None
            covers.append(ReturnCover(D(2026, 1, 1) + n * DAY, draw.randrange(10, 5_00), 12_00, probability, claimed))
    return covers


def test_both_lines_their_totals_and_the_books(engine, clock):
    medical = random_book(INSURER, seed_value=11, count=12)
    covers = rs_book(INSURER, seed_value=11)
    seed(engine, medical)
    seed_covers(engine, INSURER, covers, seed_value=11)
    days = (D(2026, 1, 20), D(2026, 2, 14), D(2026, 3, 31), D(2026, 4, 20))
    methods = []
    for day in days:
        assert run_day(engine, day)["insurers"] == 1
        shown = report(engine, INSURER, day)
        assert [entry["line"] for entry in shown["lines"]] == ["medical", "return_shipping"]
        rs = return_line.line_figures(covers, day)  # the pure function over the same covers
        assert shown_line(shown, lines.RETURN_SHIPPING) == {"line": "return_shipping", **lines.money_json(rs)}
        assert fen(shown_line(shown, lines.MEDICAL)["earned"]) == pure_earned(medical, day)
        for name in (*lines.MONEY, "policies"):
            each = [shown_line(shown, line)[name] for line in lines.LINES]
            if name == "policies":
                assert shown[name] == sum(each)
            else:
                assert fen(shown[name]) == sum(fen(v) for v in each), name
        for line in lines.LINES:  # each line's books hold its figures
            on_books = booked(engine, INSURER, line)
            figures = shown_line(shown, line)
            assert {name: on_books[name] for name in PARTS} == {name: fen(figures[name]) for name in PARTS}
        for name in PARTS:  # so the books of both hold the totals
            assert sum(booked(engine, INSURER, line)[name] for line in lines.LINES) == fen(shown[name])
        methods.append(shown_line(shown, lines.RETURN_SHIPPING)["ibnr_method"])
        assert_audit_clean(engine)
    assert methods == ["bornhuetter_ferguson", "bornhuetter_ferguson", "chain_ladder", "chain_ladder"]
    assert fen(shown_line(report(engine, INSURER, days[1]), lines.RETURN_SHIPPING)["ibnr"]) > 0

    # the last date again: nothing moves, the report stays; the audit command passes
    over(clock, days[-1])
    before = (report(engine, INSURER, days[-1]), booked(engine, INSURER, lines.RETURN_SHIPPING))
    with reading(engine) as connection:
        transfers = audit(connection).transfers
    for _ in range(2):
        again = service.run_reserves(engine, days[-1])
        assert (again["insurers"], again["transfers"]) == (0, 0)
    assert (report(engine, INSURER, days[-1]), booked(engine, INSURER, lines.RETURN_SHIPPING)) == before
    with reading(engine) as connection:
        assert audit(connection).transfers == transfers
    db = engine.url.render_as_string(hide_password=False)
    checked = CliRunner().invoke(puhui_cli, ["audit", "--db", db])
    assert checked.exit_code == 0, checked.output


def test_claims_reach_the_triangle_on_their_china_dates(engine, clock):
    """An order in the last microsecond of 31 January (China time) and its return in the first of
    1 February sit in January's row, paid a month on; the same in the first microsecond and the last."""
    p = Decimal("0.2")
    late = [ReturnCover(D(2026, 1, 31), 100, 12_00, p, claimed_on=D(2026, 2, 1))]
    early = [ReturnCover(D(2026, 1, 31), 100, 8_00, p, claimed_on=D(2026, 3, 1))]
    seed_covers(engine, INSURER, late, seed_value=1, moments=(24 * HOUR - 1,))
    seed_covers(engine, INSURER, early, seed_value=2, moments=(0,))
    with reading(engine) as connection:
        found = returns_source.payments_by_insurer(connection, D(2026, 3, 1))[INSURER]
        before = returns_source.payments_by_insurer(connection, D(2026, 2, 28))[INSURER]
    assert sorted(found, key=repr) == sorted(return_line.payments_of(late + early, D(2026, 3, 1)), key=repr)
    assert sorted(found, key=repr) == [
        Payment(D(2026, 1, 31), D(2026, 2, 1), 12_00),
        Payment(D(2026, 1, 31), D(2026, 3, 1), 8_00),
    ]
    assert before == [Payment(D(2026, 1, 31), D(2026, 2, 1), 12_00)]  # paid after the date: not yet


def test_a_return_shipping_insurer_alone_and_the_ratios(engine, clock):
    other = "ptn_rs_only"
    sold = D(2026, 1, 10)
    covers = [
        ReturnCover(sold, 200, 12_00, Decimal("0.25")),
        ReturnCover(sold, 300, 12_00, Decimal("0.10"), claimed_on=sold + 2 * DAY),
    ]
    seed_covers(engine, other, covers)
    day = sold + 4 * DAY
    assert run_day(engine, day)["insurers"] == 1
    with reading(engine) as connection:
        figures = service.ratios_json(connection, other, day)
    # earned: 200 × 5/15 = 66 and 300; IBNR (BF): 0.25 × 1200 × 66/200 = 99; paid 1200
    rs = {"line": "return_shipping", "earned": "3.66", "incurred": "12.99", "loss_ratio": "3.5492"}
    assert {k: shown_line(figures, "return_shipping")[k] for k in rs} == rs
    assert shown_line(figures, "return_shipping")["combined_ratio"] == "3.6992"  # + 0.10 commission + 0.05 expense
    assert shown_line(figures, "medical") == {
        "line": "medical",
        "earned": "0.00",
        "incurred": "0.00",
        "loss_ratio": None,
        "combined_ratio": None,
    }
    assert (figures["earned"], figures["incurred"], figures["loss_ratio"]) == ("3.66", "12.99", "3.5492")
    assert booked(engine, other, lines.RETURN_SHIPPING)["ibnr"] == 99
    assert report(engine, other, day)["ibnr_method"] == "bornhuetter_ferguson"
    assert_audit_clean(engine)
