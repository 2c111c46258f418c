"""Supply-chain finance operations, each in the caller's unit of work: register a core enterprise,
confirm a payable (应付账款确认), finance the receivable (保理/贴现), pay it at maturity (兑付).

Ledger, per receivable R of face F financed with discount D:
- financing:  scf.R (receivables_financed) → supplier wallet  F − D
              scf.R → platform.unearned_discount              D
- maturity:   core's payables funds, then its wallet → scf.R  F   (scf.R back to zero)
              platform.unearned_discount → discount_income    D   (income recognised at maturity)
- not financed: core's payables funds, then its wallet → supplier wallet   F
The discount is recognised as income when the core enterprise pays, not at financing: until then
it is unearned (a contra-asset beside the receivable), so an overdue receivable shows no income.

A core enterprise pays from its payables funds (兑付资金, `wallets.payables_funds_id`): money it tops up from
its settlement account ahead of maturity (`POST /v1/supplychain/core-enterprises/me/payables-funds/top-ups`)
and nothing else spends. What they lack comes from its wallet, whose takings are otherwise settled out T+1.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from functools import partial

from sqlalchemy import Connection, Engine, or_, select

from puhui import clock
from puhui.db import UnitOfWork, reading, transaction
from puhui.eod import runs as eod_runs
from puhui.errors import InvalidInput
from puhui.events.outbox import publish
from puhui.identity import org
from puhui.identity.errors import MerchantSuspended
from puhui.identity.org import require_merchant, wallet_id
from puhui.ledger.errors import InsufficientFunds
from puhui.ledger.models import AccountFlags, Transfer
from puhui.ledger.queries import lock_accounts
from puhui.ledger.service import create_account, post_chain
from puhui.money import format_minor
from puhui.payments import reserve, wallets
from puhui.supplychain import errors, models
from puhui.supplychain.models import OPEN, Status
from puhui.supplychain.tables import sc_core_enterprises as cores
from puhui.supplychain.tables import sc_receivables as receivables

TOPIC = "supplychain"
MATURE_JOB = "supplychain.mature"  # its dates in `eod_runs`
UNEARNED = "platform.unearned_discount.CNY"
REPAYMENT, PAYMENT = "scf_repayment", "scf_payment"  # ledger codes: to the platform (financed), to the supplier
INCOME = "platform.discount_income.CNY"


def financed_account(receivable_id: str) -> str:
    return f"scf.{receivable_id}"


def _receivable_id(core_id: str, invoice_ref: str) -> str:
    return "rcv_" + hashlib.sha256(f"{core_id}\x1f{invoice_ref}".encode()).hexdigest()[:24]


def _locked(uow: UnitOfWork, query):
    return uow.execute(query.with_for_update() if uow.postgres else query).mappings().first()


def _require_active(connection: Connection, merchant_id: str, what: str) -> None:
    """A suspended merchant neither confirms new payables nor receives new financing."""
    status = org.merchant_status(connection, merchant_id)
    if status is None:
        raise errors.SupplierNotFound(f"{what} {merchant_id} is not a merchant")
    if status != "active":
        raise MerchantSuspended(f"{what} {merchant_id} is {status}")


def _move(uow: UnitOfWork, batch: list[Transfer]) -> None:
    batch = [t for t in batch if t.amount]
    post_chain(uow, batch)


def _paid_by_core(uow: UnitOfWork, core_id: str, receivable_id: str, to: str, face: int, code: str) -> list[Transfer]:
    """The face amount from the core's payables funds, and what they lack from its wallet (both locked first, so
    what was read is what is moved); `InsufficientFunds` when the two together cannot pay it."""
    funds, wallet = wallets.payables_funds_id(core_id), wallet_id(core_id)
    lock_accounts(uow, (funds, wallet))
    from_funds = min(face, max(0, wallets.funds_available(uow.connection, funds)))
    in_wallet = wallets.funds_available(uow.connection, wallet)
    if face - from_funds > in_wallet:
        in_all = in_wallet + from_funds
        raise InsufficientFunds(
            f"the core enterprise's payables funds and wallet hold {format_minor(in_all, 2)} CNY, not the face "
            f"amount of {format_minor(face, 2)}: top up its payables funds from its settlement account "
            "(POST /v1/supplychain/core-enterprises/me/payables-funds/top-ups)"
        )
    step = "repay" if code == REPAYMENT else "pay"  # the transfers' ids as they always were, for the wallet's part
    return [
        Transfer(f"{receivable_id}.{step}.funds", funds, to, from_funds, "CNY", code),
        Transfer(f"{receivable_id}.{step}", wallet, to, face - from_funds, "CNY", code),
    ]


# -- core enterprises ----------------------------------------------------------------------------


def core_json(row) -> dict:
    return {
        "merchant_id": row["merchant_id"],
        "credit_limit": format_minor(row["credit_limit"], 2),
        "used": format_minor(row["used"], 2),
        "available": format_minor(max(row["credit_limit"] - row["used"], 0), 2),
        "discount_rate": row["discount_rate"],
        "currency": "CNY",
    }


def register_core(uow: UnitOfWork, merchant_id: str, credit_limit: int, rate: Decimal, actor: str) -> tuple[dict, bool]:
    """Register a merchant as a core enterprise, or change its limit and rate (True when new).
    A limit below what is outstanding only stops new confirmations."""
    if credit_limit <= 0:
        raise InvalidInput("credit_limit must be greater than zero")
    require_merchant(uow.connection, merchant_id)
    now = clock.now_micros()
    found = _locked(uow, select(cores).where(cores.c.merchant_id == merchant_id))
    values = {"credit_limit": credit_limit, "discount_rate": str(rate), "registered_by": actor, "updated_at": now}
    if found is None:
        row = {"merchant_id": merchant_id, "used": 0, "created_at": now, **values}
        uow.execute(cores.insert().values(**row))
    else:
        uow.execute(cores.update().where(cores.c.merchant_id == merchant_id).values(**values))
        row = {**found, **values}
    publish(
        uow,
        TOPIC,
        "supplychain.core_registered",
        merchant_id,
        {"merchant_id": merchant_id, "credit_limit": credit_limit, "discount_rate": str(rate), "by": actor},
    )
    return row, found is None


def get_core(connection: Connection, merchant_id: str) -> dict:
    row = connection.execute(select(cores).where(cores.c.merchant_id == merchant_id)).mappings().first()
    if row is None:
        raise errors.CoreEnterpriseNotFound(f"{merchant_id} is not a core enterprise")
    return dict(row)


# -- receivables ---------------------------------------------------------------------------------


def receivable_json(row) -> dict:
    discount = row["discount"]
    return {
        "id": row["id"],
        "core_id": row["core_id"],
        "supplier_id": row["supplier_id"],
        "invoice_ref": row["invoice_ref"],
        "face_amount": format_minor(row["face"], 2),
        "currency": "CNY",
        "maturity_date": row["maturity_date"],
        "status": row["status"],
        "financing": None
        if discount is None
        else {
            "financed_on": row["financed_on"],
            "discount_rate": row["discount_rate"],
            "days": row["discount_days"],
            "discount": format_minor(discount, 2),
            "advance": format_minor(row["face"] - discount, 2),
        },
        "overdue_since": row["overdue_since"],
        "paid_to": row["paid_to"],
    }


def _seen_by(row, receivable_id: str, party: str | None) -> dict:
    """The receivable as `party` (a merchant; None: staff) may see it. One it is neither the core
    enterprise nor the supplier of answers exactly as one that does not exist, reading it or acting
    on it alike, so an outsider cannot learn that it exists (404, never 403)."""
    if row is None or (party is not None and party not in (row["core_id"], row["supplier_id"])):
        raise errors.ReceivableNotFound(f"receivable {receivable_id} not found")
    return dict(row)


def get_receivable(connection: Connection, receivable_id: str, party: str | None = None) -> dict:
    """A receivable; `party`: the merchant asking, which sees only its own (see `_seen_by`)."""
    row = connection.execute(select(receivables).where(receivables.c.id == receivable_id)).mappings().first()
    return _seen_by(row, receivable_id, party)


def _locked_for(uow: UnitOfWork, receivable_id: str, party: str) -> dict:
    """The receivable locked for a change by `party`, a merchant that must be one of its parties."""
    return _seen_by(_locked(uow, select(receivables).where(receivables.c.id == receivable_id)), receivable_id, party)


def list_receivables(
    connection: Connection,
    *,
    core_id: str | None = None,
    supplier_id: str | None = None,
    party: str | None = None,
    status: str | None = None,
    limit: int | None = None,
) -> list[dict]:
    """Receivables by core enterprise, supplier, either party, and status; oldest maturity first (the first
    `limit` of them when given)."""
    query = select(receivables).order_by(receivables.c.maturity_date, receivables.c.id).limit(limit)
    if core_id:
        query = query.where(receivables.c.core_id == core_id)
    if supplier_id:
        query = query.where(receivables.c.supplier_id == supplier_id)
    if party:
        query = query.where(or_(receivables.c.core_id == party, receivables.c.supplier_id == party))
    if status:
        query = query.where(receivables.c.status == status)
    return [dict(r) for r in connection.execute(query).mappings()]


def confirm(
    uow: UnitOfWork, core_id: str, supplier_id: str, face: int, maturity: dt.date, invoice_ref: str
) -> tuple[dict, bool]:
    """The core enterprise confirms a payable to its supplier; it counts against the core's limit.
    The same invoice confirmed again with the same details returns the first receivable."""
    if face <= 0:
        raise InvalidInput("face_amount must be greater than zero")
    get_core(uow.connection, core_id)
    if supplier_id == core_id:
        raise errors.SupplierIsCore()
    _require_active(uow.connection, supplier_id, "supplier")
    _require_active(uow.connection, core_id, "core enterprise")
    receivable_id = _receivable_id(core_id, invoice_ref)
    existing = uow.execute(select(receivables).where(receivables.c.id == receivable_id)).mappings().first()
    if existing is not None:
        if (existing["supplier_id"], existing["face"], existing["maturity_date"]) != (supplier_id, face, str(maturity)):
            raise errors.InvoiceAlreadyConfirmed(f"invoice {invoice_ref} is receivable {receivable_id}")
        return dict(existing), False
    models.check_maturity(clock.business_date(), maturity)
    taken = uow.execute(
        cores.update()
        .where(cores.c.merchant_id == core_id, cores.c.used + face <= cores.c.credit_limit)
        .values(used=cores.c.used + face)
    )
    if taken.rowcount != 1:
        core = get_core(uow.connection, core_id)
        raise errors.LimitExceeded(
            f"available {format_minor(max(core['credit_limit'] - core['used'], 0), 2)}, asked {format_minor(face, 2)}"
        )
    row = {
        "id": receivable_id,
        "core_id": core_id,
        "supplier_id": supplier_id,
        "invoice_ref": invoice_ref,
        "face": face,
        "maturity_date": str(maturity),
        "status": Status.confirmed.value,
        "confirmed_at": clock.now_micros(),
        "financed_on": None,
        "discount_rate": None,
        "discount_days": None,
        "discount": None,
        "financed_at": None,
        "overdue_since": None,
        "paid_to": None,
        "paid_at": None,
    }
    uow.execute(receivables.insert().values(**row))
    publish(uow, TOPIC, "supplychain.payable_confirmed", receivable_id, receivable_json(row))
    return row, True


def _open_for_financing(row: dict, today: dt.date) -> None:
    if row["discount"] is not None:  # financed, whatever happened since
        raise errors.AlreadyFinanced(f"receivable {row['id']} was financed on {row['financed_on']}")
    if row["status"] == Status.paid.value:
        raise errors.ReceivableNotOpen(f"receivable {row['id']} is paid")
    if today >= dt.date.fromisoformat(row["maturity_date"]) or row["status"] == Status.overdue.value:
        raise errors.ReceivableMatured(f"receivable {row['id']} matured on {row['maturity_date']}")


def finance(uow: UnitOfWork, supplier_id: str, receivable_id: str) -> dict:
    """The supplier sells its confirmed receivable to the platform at the core's discount rate:
    face − discount into its wallet now. Only once, and only before maturity."""
    row = _locked_for(uow, receivable_id, supplier_id)
    if row["supplier_id"] != supplier_id:  # its core enterprise: it knows the receivable, may not finance it
        raise errors.NotTheSupplier(f"only the supplier of receivable {receivable_id} may finance it")
    today = clock.business_date()
    _open_for_financing(row, today)
    _require_active(uow.connection, supplier_id, "supplier")
    rate = Decimal(get_core(uow.connection, row["core_id"])["discount_rate"])
    days = models.discount_days(today, dt.date.fromisoformat(row["maturity_date"]))
    discount = models.discount(row["face"], rate, days)
    done = uow.execute(
        receivables.update()
        .where(receivables.c.id == receivable_id, receivables.c.status == Status.confirmed.value)
        .values(
            status=Status.financed.value,
            financed_on=str(today),
            discount_rate=str(rate),
            discount_days=days,
            discount=discount,
            financed_at=clock.now_micros(),
        )
    )
    if done.rowcount != 1:
        raise errors.AlreadyFinanced(f"receivable {receivable_id} was financed")
    account = financed_account(receivable_id)
    create_account(
        uow,
        ledger="CNY",
        code="receivables_financed",
        owner_id=receivable_id,
        flags=AccountFlags.credits_must_not_exceed_debits,
        id=account,
    )
    reserve.fund_reserve(
        uow, f"{receivable_id}.own_funds", row["face"] - discount
    )  # the platform's cash backs the advance
    _move(
        uow,
        [
            Transfer(
                f"{receivable_id}.advance",
                account,
                wallet_id(supplier_id),
                row["face"] - discount,
                "CNY",
                "scf_advance",
            ),
            Transfer(f"{receivable_id}.discount", account, UNEARNED, discount, "CNY", "scf_discount"),
        ],
    )
    out = get_receivable(uow.connection, receivable_id)
    publish(uow, TOPIC, "supplychain.receivable_financed", receivable_id, receivable_json(out))
    return out


def pay(uow: UnitOfWork, core_id: str, receivable_id: str, today: dt.date | None = None) -> dict:
    """The core enterprise pays the face amount at (or after) maturity: to the platform when the
    receivable was financed, else to the supplier. Clears an overdue receivable and frees the limit."""
    row = _locked_for(uow, receivable_id, core_id)
    if row["core_id"] != core_id:  # its supplier: it knows the receivable, may not pay it
        raise errors.NotTheCore(f"only the core enterprise of receivable {receivable_id} may pay it")
    if row["status"] == Status.paid.value:
        raise errors.ReceivableNotOpen(f"receivable {receivable_id} is paid")
    today = today or clock.business_date()
    if today < dt.date.fromisoformat(row["maturity_date"]):
        raise errors.NotDue(f"receivable {receivable_id} matures on {row['maturity_date']}")
    financed = row["discount"] is not None
    if financed:
        batch = [
            *_paid_by_core(uow, core_id, receivable_id, financed_account(receivable_id), row["face"], REPAYMENT),
            Transfer(f"{receivable_id}.earn", UNEARNED, INCOME, row["discount"], "CNY", "scf_discount_earned"),
        ]
    else:
        batch = _paid_by_core(uow, core_id, receivable_id, wallet_id(row["supplier_id"]), row["face"], PAYMENT)
    _move(uow, batch)
    paid_to = "platform" if financed else "supplier"
    uow.execute(
        receivables.update()
        .where(receivables.c.id == receivable_id)
        .values(status=Status.paid.value, paid_to=paid_to, paid_at=clock.now_micros())
    )
    uow.execute(cores.update().where(cores.c.merchant_id == core_id).values(used=cores.c.used - row["face"]))
    out = get_receivable(uow.connection, receivable_id)
    publish(uow, TOPIC, "supplychain.receivable_paid", receivable_id, receivable_json(out))
    return out


def _mark_overdue(uow: UnitOfWork, receivable_id: str, day: dt.date) -> bool:
    done = uow.execute(
        receivables.update()
        .where(
            receivables.c.id == receivable_id, receivables.c.status.in_((Status.confirmed.value, Status.financed.value))
        )
        .values(status=Status.overdue.value, overdue_since=str(day))
    )
    if done.rowcount == 1:
        publish(uow, TOPIC, "supplychain.receivable_overdue", receivable_id, {"id": receivable_id, "since": str(day)})
    return done.rowcount == 1


def mature(engine: Engine, day: dt.date) -> dict:
    """Settle every open receivable due on or before `day`: the core's wallet pays; when it cannot,
    the receivable turns overdue (retried by later runs). Running twice for a day changes nothing.
    The dates follow the rule of every end of day (`puhui.eod.runs`): `day` over and not
    skipped before the last date run; the dates of a gap run first, in order (`caught_up`), so a
    receivable turns overdue on its own maturity date."""
    done = eod_runs.run_days(engine, MATURE_JOB, day, lambda date: _mature_day(engine, date))
    return {**done.result, "caught_up": [summary for _, summary in done.caught_up]}


def _mature_day(engine: Engine, day: dt.date) -> dict:
    with reading(engine) as connection:
        due = connection.execute(
            select(receivables.c.id, receivables.c.core_id)
            .where(receivables.c.status.in_(OPEN), receivables.c.maturity_date <= str(day))
            .order_by(receivables.c.maturity_date, receivables.c.id)
        ).all()
    counts = {"due": len(due), "paid": 0, "overdue": 0, "still_overdue": 0}
    for receivable_id, core_id in due:
        try:
            transaction(engine, partial(pay, core_id=core_id, receivable_id=receivable_id, today=day))
            counts["paid"] += 1
        except InsufficientFunds:
            turned = transaction(engine, partial(_mark_overdue, receivable_id=receivable_id, day=day))
            counts["overdue" if turned else "still_overdue"] += 1
        except errors.ReceivableNotOpen:  # paid by the core between the read and now
            counts["due"] -= 1
    return {"business_date": str(day), **counts}
