"""Repayments (还款) from the customer's wallet, in the caller's unit of work.

- scheduled: pays what is due (instalments due today or earlier, and penalties), split by the
  product's allocation order (default penalty → fees → interest → principal). More than is due
  is refused (`repayment_exceeds_owed`) and nothing changes.
- early_full (提前结清): everything due, the interest accrued so far in the current period, all
  remaining principal and the early-repayment fee on the principal not yet due. Instalments not
  yet due are closed with the interest accrued to date; the loan's provision is released.
- early_partial (提前部分还款): pays what is due first, then prepays principal and its early repayment
  fee (the fee half-up to the fen on the principal, as for early_full: `prepay_and_fee` takes the
  largest principal whose fee fits; a fen that fits neither is not taken and stays in the wallet) and
  re-amortizes the rest over the same remaining instalments (`reamortize`). The current period
  keeps the interest accrued so far, plus interest on the lower balance for the days left.
- a written-off loan (已核销): the money is a recovery, income to the platform, up to what was
  written off.

Before any of it, what is due today is recognized in the ledger (interest accrued to the full
scheduled amount, instalment fees receivable), so the ledger always holds what is owed.

A repayment on a loan past due recomputes its delinquency at once (`eod.refresh_loan`, the end of
day's own SQL as of the last date run): all arrears paid, it is current (0 days, bucket current,
class normal) and its provision falls to the normal rate; some left, the days count from the oldest
instalment still unpaid.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from puhui import clock
from puhui.db import UnitOfWork
from puhui.errors import InvalidInput
from puhui.events.outbox import publish
from puhui.identity.service import customer_wallet_id
from puhui.ledger.models import Transfer
from puhui.lending import accounts, eod
from puhui.lending.accounts import move, post
from puhui.lending.allocation import Allocation, Owed, allocate
from puhui.lending.catalog import get_product
from puhui.lending.errors import (
    LoanClosed,
    LoanNotFound,
    NothingDue,
    PartialCoversLoan,
    PayoffMismatch,
    RepaymentExceedsOwed,
    RepaymentInvalid,
)
from puhui.lending.partners import service as partners
from puhui.lending.products import RepaymentMethod
from puhui.lending.schedule import reamortize
from puhui.lending.service import TOPIC, date_of, instalment_rows, instalments, loan_row, new_id, today
from puhui.lending.tables import (
    loan_instalments,
    loan_provisions,
    loan_repayments,
    loans,
)
from puhui.money import format_minor

KINDS = ("scheduled", "early_full", "early_partial")


def _half_up(value: Decimal) -> int:
    return int(value.to_integral_value(ROUND_HALF_UP))


def _total(o: Any) -> int:
    return o.penalty + o.fees + o.interest + o.principal


def recognize_due(loan_id: str, rows: list[dict], day: int) -> list[Transfer]:
    """Transfers that bring what is due by `day` into the ledger; updates `rows` in place."""
    moves = []
    for r in rows:
        if r["due_day"] > day:
            continue
        if r["interest"] > r["interest_accrued"]:
            moves.append(
                move(
                    f"due.{loan_id}.{r['number']}.i",
                    accounts.account_id(loan_id, "interest"),
                    accounts.INTEREST_INCOME,
                    r["interest"] - r["interest_accrued"],
                    "interest_accrual",
                )
            )
            r["interest_accrued"], r["_changed"] = r["interest"], True
        if r["fee"] > r["fee_recognized"]:
            moves.append(
                move(
                    f"due.{loan_id}.{r['number']}.f",
                    accounts.account_id(loan_id, "fees"),
                    accounts.FEE_INCOME,
                    r["fee"] - r["fee_recognized"],
                    "instalment_fee",
                )
            )
            r["fee_recognized"], r["_changed"] = r["fee"], True
    return moves


def owed_due(rows: list[dict], day: int, penalty: int) -> Owed:
    due = [r for r in rows if r["due_day"] <= day]
    return Owed(
        penalty=penalty,
        fees=sum(r["fee"] - r["fee_paid"] for r in due),
        interest=sum(r["interest"] - r["interest_paid"] for r in due),
        principal=sum(r["principal"] - r["principal_paid"] for r in due),
    )


def _spread(rows: list[dict], component: str, amount: int) -> None:
    """Pay `amount` of a component over the rows, oldest first."""
    for r in rows:
        if amount <= 0:
            return
        take = min(amount, r[component] - r[f"{component}_paid"])
        if take > 0:
            r[f"{component}_paid"] += take
            r["_changed"] = True
            amount -= take
    assert amount == 0, "allocation beyond the schedule"


def repay(uow: UnitOfWork, loan_id: str, customer_id: str, amount: int | None, kind: str = "scheduled") -> dict:
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
    if amount is not None and amount <= 0:
        raise InvalidInput("amount must be greater than zero")
    loan = loan_row(uow.connection, loan_id, lock=True)
    if loan["customer_id"] != customer_id:
        raise LoanNotFound(f"loan {loan_id} not found")  # another's loan answers as one that does not exist
    if loan["status"] == "paid_off":
        raise LoanClosed(f"loan {loan_id} is paid off")
    if loan["status"] == "written_off":
        return _recover(uow, loan, amount)
    product = get_product(uow.connection, loan["product_code"])
    day = today()
    rows = instalments(uow.connection, loan_id)
    recognized = recognize_due(loan_id, rows, day)
    balance = accounts.balances(uow.connection, loan_id)
    owed = owed_due(rows, day, balance.penalty)
    due_rows = [r for r in rows if r["due_day"] <= day]
    ahead = [r for r in rows if r["due_day"] > day]
    early_fee, prepay = 0, 0
    if kind == "scheduled":
        if _total(owed) == 0:
            raise NothingDue(f"nothing is due on loan {loan_id} today")
        paid = allocate(_total(owed) if amount is None else amount, owed, product.allocation_order)
    elif kind == "early_full":
        payoff = payoff_of(owed, ahead, product.early_repayment_fee_rate)
        if amount is not None and amount != payoff.total:
            raise PayoffMismatch(f"the payoff amount today is {format_minor(payoff.total, 2)}")
        prepay, early_fee = payoff.principal_ahead, payoff.early_fee
        paid = Allocation(
            penalty=owed.penalty,
            fees=owed.fees,
            interest=owed.interest + payoff.interest_ahead,
            principal=owed.principal,
        )
    else:
        if amount is None or amount <= _total(owed):
            raise InvalidInput(f"a partial early repayment must exceed what is due ({format_minor(_total(owed), 2)})")
        paid = allocate(_total(owed), owed, product.allocation_order)
        prepay, early_fee = prepay_and_fee(amount - _total(owed), product.early_repayment_fee_rate)
        if prepay == 0:
            raise RepaymentInvalid("this is too little to prepay any principal with its early repayment fee")
        if prepay >= sum(r["principal"] - r["principal_paid"] for r in ahead):
            raise PartialCoversLoan("this pays the whole loan: use early_full")
    _spread(due_rows, "fee", paid.fees)
    _spread(due_rows + ahead if kind == "early_full" else due_rows, "interest", paid.interest)
    _spread(due_rows, "principal", paid.principal)
    repayment_id = new_id("lr_")
    moves = recognized + _repayment_moves(repayment_id, loan_id, customer_id, paid, prepay, early_fee)
    moves += partners.repayment_moves(uow, loan_id, repayment_id, paid.principal + prepay, paid.interest, day)
    closing = kind == "early_full" or (not ahead and all(_settled(r) for r in rows) and paid.penalty == owed.penalty)
    if kind == "early_full":
        for r in ahead:
            r.update(
                interest=r["interest_accrued"], fee=r["fee_recognized"], principal_paid=r["principal"], _changed=True
            )
            r["interest_paid"] = r["interest"]
    if closing and balance.provision:
        moves.append(
            move(
                f"rel.{repayment_id}",
                accounts.account_id(loan_id, "provision"),
                accounts.PROVISION_EXPENSE,
                balance.provision,
                "provision_release",
            )
        )
    post(uow, moves)
    _save_rows(uow, loan_id, rows)
    if kind == "early_partial":
        _reamortize(uow, loan, ahead, prepay, day)
    if closing:
        uow.execute(
            loans.update()
            .where(loans.c.id == loan_id)
            .values(status="paid_off", days_past_due=0, bucket="current", loan_class="normal")
        )
        uow.execute(loan_provisions.delete().where(loan_provisions.c.loan_id == loan_id))
    elif loan["days_past_due"] > 0:  # arrears paid, all or some: the loan's delinquency shows it at once
        eod.refresh_loan(uow, loan_id, f"prv.{repayment_id}")
    row = {
        "id": repayment_id,
        "loan_id": loan_id,
        "customer_id": customer_id,
        "kind": kind,
        "business_day": day,
        "amount": _total(paid) + prepay + early_fee,
        "penalty": paid.penalty,
        "fees": paid.fees,
        "interest": paid.interest,
        "principal": paid.principal + prepay,
        "early_fee": early_fee,
        "recovery": 0,
        "created_at": clock.now_micros(),
    }
    uow.execute(loan_repayments.insert().values(**row))
    publish(uow, TOPIC, "lending.repayment_received", loan_id, repayment_json(row))
    return repayment_json(row)


def prepay_and_fee(rest: int, fee_rate: Decimal) -> tuple[int, int]:
    """(principal, early repayment fee) of `rest` fen paid ahead of schedule: the largest principal p
    whose fee, half-up to the fen on p as for an early full repayment, fits with it: p + fee ≤ rest.
    p + fee(p) grows by 1 or 2 fen as p grows by one (the rate is at most 1), so at most one fen of
    `rest` fits neither. That fen is not taken as fee: it stays in the customer's wallet, and the
    repayment's amount says what was taken."""
    rate = Decimal(fee_rate)
    principal = int((Decimal(rest) / (1 + rate)).to_integral_value(ROUND_FLOOR))  # fits: fee ≤ p·rate + ½
    while principal > 0 and principal + _half_up(rate * principal) > rest:  # never, unless the division rounded up
        principal -= 1
    while principal + 1 + _half_up(rate * (principal + 1)) <= rest:
        principal += 1
    return principal, _half_up(rate * principal)


@dataclass(frozen=True)
class Payoff:
    """What an early full repayment (提前结清) takes today, in fen: what is due (`owed`: penalty, fees, interest,
    principal of the instalments due today or earlier), the interest accrued so far on the instalments not yet
    due, the principal not yet due, and the early repayment fee (提前还款违约金) on that principal at `fee_rate`."""

    owed: Owed
    interest_ahead: int
    principal_ahead: int
    fee_rate: Decimal
    early_fee: int

    @property
    def total(self) -> int:
        return _total(self.owed) + self.interest_ahead + self.principal_ahead + self.early_fee

    def as_json(self) -> dict:
        return {
            "principal": format_minor(self.owed.principal + self.principal_ahead, 2),
            "interest": format_minor(self.owed.interest + self.interest_ahead, 2),
            "fees": format_minor(self.owed.fees, 2),
            "penalty": format_minor(self.owed.penalty, 2),
            "early_repayment_fee": format_minor(self.early_fee, 2),
            "early_repayment_fee_rate": str(self.fee_rate),
            "total": format_minor(self.total, 2),
        }


def payoff_of(owed: Owed, ahead: list[dict], fee_rate: Decimal) -> Payoff:
    """The payoff of a loan owing `owed` today with the instalments `ahead` not yet due: the one computation
    an early full repayment charges and the payoff quote (`payoff_quote`) shows, so the two cannot differ."""
    prepay = sum(r["principal"] - r["principal_paid"] for r in ahead)
    return Payoff(
        owed=owed,
        interest_ahead=sum(r["interest_accrued"] - r["interest_paid"] for r in ahead),
        principal_ahead=prepay,
        fee_rate=Decimal(fee_rate),
        early_fee=_half_up(Decimal(fee_rate) * prepay),
    )


def _payoff_today(connection: Any, loan: dict) -> Payoff:
    """The payoff of an active loan today, read as a repayment would compute it (what it would recognize
    first applied to the copies read here; nothing is written)."""
    product = get_product(connection, loan["product_code"])
    day, rows = today(), instalments(connection, loan["id"])
    recognize_due(loan["id"], rows, day)
    owed = owed_due(rows, day, accounts.balances(connection, loan["id"]).penalty)
    return payoff_of(owed, [r for r in rows if r["due_day"] > day], product.early_repayment_fee_rate)


def due_and_payoff(connection: Any, loan_id: str) -> tuple[int, int]:
    """(what is due today, what an early full repayment would take today) of an active loan, in fen."""
    payoff = _payoff_today(connection, loan_row(connection, loan_id))
    return _total(payoff.owed), payoff.total


def payoff_quote(connection: Any, loan_id: str) -> dict:
    """The payoff quote (提前结清金额) of an active loan today: principal, interest to date, fees, penalty, the
    early repayment fee and its rate, and the total an early full repayment takes (`kind` early_full, the same
    computation). A loan paid off or written off has none (`loan_closed`)."""
    loan = loan_row(connection, loan_id)
    if loan["status"] != "active":
        raise LoanClosed(f"loan {loan_id} is {loan['status'].replace('_', ' ')}: it has no payoff amount")
    return {"loan_id": loan_id, "as_of": date_of(today()).isoformat(), **_payoff_today(connection, loan).as_json()}


def _settled(r: dict) -> bool:
    return r["principal_paid"] >= r["principal"] and r["interest_paid"] >= r["interest"] and r["fee_paid"] >= r["fee"]


def _repayment_moves(
    rid: str, loan_id: str, customer_id: str, paid: Allocation, prepay: int, early_fee: int
) -> list[Transfer]:
    wallet = customer_wallet_id(customer_id)
    parts = [
        ("penalty", paid.penalty, "penalty_repayment"),
        ("fees", paid.fees, "fee_repayment"),
        ("interest", paid.interest, "interest_repayment"),
        ("principal", paid.principal + prepay, "principal_repayment"),
    ]
    moves = [
        move(f"rp.{rid}.{part}", wallet, accounts.account_id(loan_id, part), value, code)
        for part, value, code in parts
        if value > 0
    ]
    if early_fee > 0:
        moves.append(move(f"rp.{rid}.early_fee", wallet, accounts.FEE_INCOME, early_fee, "early_repayment_fee"))
    return moves


MUTABLE = (
    "principal",
    "interest",
    "fee",
    "principal_paid",
    "interest_paid",
    "fee_paid",
    "interest_accrued",
    "fee_recognized",
)


def _save_rows(uow: UnitOfWork, loan_id: str, rows: list[dict]) -> None:
    for r in rows:
        if r.pop("_changed", False):
            uow.execute(
                loan_instalments.update()
                .where(loan_instalments.c.loan_id == loan_id, loan_instalments.c.number == r["number"])
                .values(**{k: r[k] for k in MUTABLE})
            )


def _reamortize(uow: UnitOfWork, loan: dict, ahead: list[dict], prepay: int, day: int) -> None:
    """Replace the instalments not yet due by a re-amortized schedule over the same dates."""
    current = ahead[0]
    outstanding = sum(r["principal"] for r in ahead) - prepay
    rate = Decimal(loan["annual_rate"]) if current["interest"] > 0 else Decimal(0)
    new = reamortize(
        outstanding, rate, len(ahead), RepaymentMethod(loan["method"]), date_of(current["due_day"]), current["number"]
    )
    fees = {r["number"]: r["fee"] for r in ahead}
    rows = instalment_rows(loan["id"], new, current["period_start_day"])
    first = rows[0]
    span = current["due_day"] - current["period_start_day"]
    left = Decimal(current["due_day"] - day) / span if span else Decimal(0)
    first["interest"] = current["interest_accrued"] + _half_up(Decimal(first["interest"]) * left)
    first["interest_accrued"] = current["interest_accrued"]
    for r in rows:
        r["fee"] = fees.get(r["number"], 0)
    uow.execute(
        loan_instalments.delete().where(
            loan_instalments.c.loan_id == loan["id"], loan_instalments.c.number >= current["number"]
        )
    )
    uow.execute(loan_instalments.insert(), rows)


def _recover(uow: UnitOfWork, loan: dict, amount: int | None) -> dict:
    """Money received on a written-off loan (核销后收回): recovery income, up to what was written off."""
    left = loan["written_off"] - loan["recovered"]
    amount = left if amount is None else amount
    if amount > left or amount <= 0:
        raise RepaymentExceedsOwed(f"at most {format_minor(left, 2)} can be recovered on this loan")
    rid = new_id("lr_")
    post(
        uow,
        [
            move(
                f"rp.{rid}.recovery",
                customer_wallet_id(loan["customer_id"]),
                accounts.RECOVERY_INCOME,
                amount,
                "loan_recovery",
            )
        ],
    )
    uow.execute(loans.update().where(loans.c.id == loan["id"]).values(recovered=loan["recovered"] + amount))
    row = {
        "id": rid,
        "loan_id": loan["id"],
        "customer_id": loan["customer_id"],
        "kind": "recovery",
        "business_day": today(),
        "amount": amount,
        "penalty": 0,
        "fees": 0,
        "interest": 0,
        "principal": 0,
        "early_fee": 0,
        "recovery": amount,
        "created_at": clock.now_micros(),
    }
    uow.execute(loan_repayments.insert().values(**row))
    publish(uow, TOPIC, "lending.recovery_received", loan["id"], repayment_json(row))
    return repayment_json(row)


def repayment_json(row: Any) -> dict:
    money = ("amount", "penalty", "fees", "interest", "principal", "early_fee", "recovery")
    return {
        "id": row["id"],
        "loan_id": row["loan_id"],
        "customer_id": row["customer_id"],
        "kind": row["kind"],
        "business_date": date_of(row["business_day"]).isoformat(),
        **{k: format_minor(row[k], 2) for k in money},
    }
