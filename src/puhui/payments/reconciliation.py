"""Reconciliation (对账): the bank's statement for business date D against the platform's bank
orders (top-ups, withdrawals, settlement payouts), matched by order id.

Every mismatch becomes an open exception row; the row id is derived from the mismatch, so
reconciling the same date twice adds nothing, and an open exception the date's match no longer finds
(a corrected statement) is closed by the re-run (`accept`, no money moved). Resolving an exception
moves money only through ledger transfers:

- `post_hold`: the bank settled an order the platform still holds as pending → finish it
  (posts the hold exactly once, as a late bank notification would).
- `to_suspense`: money moved at the bank with no platform order → book it between the reserve
  and `platform.suspense.CNY`, where it stays until assigned.
- `reverse`: the platform posted an order the bank never moved (missing at bank) → undo it with
  the opposite transfer between the wallet and the reserve (refused if the wallet has spent it).
- `accept`: close the exception without moving money (e.g. a duplicate or wrong line the bank
  corrects in its own file).

Suspense money that came in is later handed to its owner with `assign_suspense` (suspense →
wallet). Every statement line is kept (`recon_lines`): an order the bank settled just before
midnight and the platform posted just after matched the earlier statement and is not flagged again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import Engine, select

from puhui import clock
from puhui.db import UnitOfWork, reading, transaction
from puhui.eod import runs as eod_runs
from puhui.errors import Conflict, InvalidInput, NotFound
from puhui.identity.service import customer_wallet_id
from puhui.ledger.models import Transfer, TransferResult
from puhui.ledger.service import create_transfers, get_account, get_transfers
from puhui.payments import wallets
from puhui.payments.bank.channel import OrderKind, OrderState
from puhui.payments.bank.statement import Direction, StatementLine, parse_statement
from puhui.payments.errors import WalletSpent
from puhui.payments.settlement_tables import recon_exceptions, recon_lines
from puhui.payments.tables import bank_orders

RESERVE = wallets.RESERVE
SUSPENSE = "platform.suspense.CNY"
KINDS = ("missing_at_bank", "missing_at_platform", "amount_differs", "duplicate")
ACTIONS = ("post_hold", "to_suspense", "reverse", "accept")


def _direction(kind: str) -> str:
    return Direction.credit.value if kind == OrderKind.debit_card.value else Direction.debit.value


def _exception_id(business_date: dt.date, kind: str, key: str) -> str:
    return "rx_" + hashlib.sha256(f"{business_date}\x1f{kind}\x1f{key}".encode()).hexdigest()[:32]


def find_mismatches(engine: Engine, business_date: dt.date, lines: list[StatementLine]) -> list[dict]:
    """The mismatches between the statement lines and the platform's orders (no writes)."""
    start, end = clock.day_bounds(business_date)
    by_order: dict[str, list[StatementLine]] = defaultdict(list)
    for line in lines:
        by_order[line.order_id].append(line)
    with reading(engine) as connection:
        settled = {
            r["id"]: dict(r)
            for r in connection.execute(
                select(bank_orders).where(
                    bank_orders.c.status == "posted",
                    bank_orders.c.resolved_at >= start,
                    bank_orders.c.resolved_at < end,
                )
            ).mappings()
        }
        # orders posted by resolving an exception, or posted after midnight for a line of an
        # earlier statement, were matched already
        settled_elsewhere = {
            r[0]
            for r in connection.execute(
                select(recon_exceptions.c.order_id).where(
                    recon_exceptions.c.action == "post_hold",
                    recon_exceptions.c.business_date != business_date.isoformat(),
                )
            )
        }
        settled_elsewhere |= {
            r[0]
            for r in connection.execute(
                select(recon_lines.c.order_id).where(
                    recon_lines.c.business_date < business_date.isoformat(), recon_lines.c.order_id.in_(list(settled))
                )
            )
        }
        known = (
            {
                r["id"]: dict(r)
                for r in connection.execute(select(bank_orders).where(bank_orders.c.id.in_(list(by_order)))).mappings()
            }
            if by_order
            else {}
        )
    found: list[dict] = []

    def add(kind: str, order_id: str, line: StatementLine | None, platform: dict | None, key: str) -> None:
        found.append(
            {
                "id": _exception_id(business_date, kind, key),
                "business_date": business_date.isoformat(),
                "kind": kind,
                "order_id": order_id,
                "bank_reference": line.bank_reference if line else None,
                "direction": line.direction.value if line else _direction(platform["kind"]) if platform else None,
                "platform_amount": platform["amount"] if platform else None,
                "bank_amount": line.amount if line else None,
            }
        )

    for order_id, group in by_order.items():
        line = group[0]
        platform = known.get(order_id)
        if len(group) > 1:
            add("duplicate", order_id, line, platform, f"{order_id}\x1fduplicate")
        if platform is None or platform["status"] != "posted":
            add("missing_at_platform", order_id, line, platform, f"{order_id}\x1f{line.bank_reference}")
        elif platform["amount"] != line.amount or _direction(platform["kind"]) != line.direction.value:
            add("amount_differs", order_id, line, platform, order_id)
    for order_id, platform in settled.items():
        if order_id not in by_order and order_id not in settled_elsewhere:
            add("missing_at_bank", order_id, None, platform, order_id)
    return found


def reconcile(engine: Engine, business_date: dt.date, statement_csv: str | bytes) -> list[dict]:
    """Record every mismatch of `business_date` as an open exception (once); returns the date's exceptions."""
    lines = parse_statement(statement_csv, business_date)
    found = find_mismatches(engine, business_date, lines)

    def work(uow: UnitOfWork) -> None:
        ids = {
            r[0]: r[1]
            for r in uow.execute(
                select(recon_exceptions.c.id, recon_exceptions.c.actor).where(
                    recon_exceptions.c.business_date == business_date.isoformat()
                )
            )
        }
        now = clock.now_micros()
        _keep_lines(uow, business_date, lines)
        _close_unfound(uow, business_date, {item["id"] for item in found}, now)
        reopened = [item["id"] for item in found if ids.get(item["id"], "") == RERUN_ACTOR]
        if reopened:  # closed by an earlier re-run that did not find it, and found again
            uow.execute(
                recon_exceptions.update()
                .where(recon_exceptions.c.id.in_(reopened), recon_exceptions.c.actor == RERUN_ACTOR)
                .values(status="open", action=None, actor=None, resolved_at=None)
            )
        for item in found:
            if item["id"] not in ids:
                uow.execute(
                    recon_exceptions.insert().values(
                        **item,
                        status="open",
                        action=None,
                        actor=None,
                        transfer_id=None,
                        created_at=now,
                        resolved_at=None,
                    )
                )

    transaction(engine, work)
    return exceptions_of(engine, business_date)


RERUN_ACTOR = "reconciliation"  # who closes an exception that reconciling the date again no longer finds


def _close_unfound(uow: UnitOfWork, business_date: dt.date, found: set[str], now: int) -> None:
    """Reconciling a date again (a corrected statement, or a run that had asked a bank that could not know
    the day's orders) closes its open exceptions the match no longer finds: `accept`, no money moved, by
    `RERUN_ACTOR` (found again later, such an exception opens again). Resolved ones stay as they were."""
    stale = [
        r[0]
        for r in uow.execute(
            select(recon_exceptions.c.id).where(
                recon_exceptions.c.business_date == business_date.isoformat(), recon_exceptions.c.status == "open"
            )
        )
        if r[0] not in found
    ]
    if stale:
        uow.execute(
            recon_exceptions.update()
            .where(recon_exceptions.c.id.in_(stale), recon_exceptions.c.status == "open")
            .values(status="resolved", action="accept", actor=RERUN_ACTOR, resolved_at=now)
        )


def _keep_lines(uow: UnitOfWork, business_date: dt.date, lines: list[StatementLine]) -> None:
    day = business_date.isoformat()
    kept = {
        (r[0], r[1])
        for r in uow.execute(
            select(recon_lines.c.order_id, recon_lines.c.bank_reference).where(recon_lines.c.business_date == day)
        )
    }
    for line in lines:
        if (line.order_id, line.bank_reference) not in kept:
            kept.add((line.order_id, line.bank_reference))
            uow.execute(
                recon_lines.insert().values(
                    business_date=day,
                    order_id=line.order_id,
                    bank_reference=line.bank_reference,
                    direction=line.direction.value,
                    amount=line.amount,
                )
            )


def exceptions_of(engine: Engine, business_date: dt.date, status: str | None = None) -> list[dict]:
    query = select(recon_exceptions).where(recon_exceptions.c.business_date == business_date.isoformat())
    if status is not None:
        query = query.where(recon_exceptions.c.status == status)
    with reading(engine) as connection:
        return [
            dict(r)
            for r in connection.execute(query.order_by(recon_exceptions.c.kind, recon_exceptions.c.id)).mappings()
        ]


def resolve_exception(engine: Engine, exception_id: str, action: str, actor: str) -> dict:
    """Resolve one open exception; money moves only through ledger transfers. Idempotent."""
    if action not in ACTIONS:
        raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}")

    def work(uow: UnitOfWork) -> dict:
        query = select(recon_exceptions).where(recon_exceptions.c.id == exception_id)
        row = uow.execute(query.with_for_update() if uow.postgres else query).mappings().first()
        if row is None:
            raise NotFound(f"reconciliation exception {exception_id} not found")
        row = dict(row)
        if row["status"] == "resolved":
            if row["action"] != action:
                raise Conflict(f"{exception_id} was already resolved by {row['action']}")
            return row
        transfer_id = None
        if action == "post_hold":
            order = uow.execute(select(bank_orders).where(bank_orders.c.id == row["order_id"])).mappings().first()
            if row["kind"] != "missing_at_platform" or order is None or order["status"] != "pending":
                raise Conflict("post_hold needs a bank-settled order the platform still holds as pending")
            if row["bank_amount"] != order["amount"]:
                raise Conflict("the bank settled a different amount; resolve it otherwise")
            wallets.finish(
                uow,
                order["id"],
                OrderState.succeeded,
                order["amount"],
                OrderKind(order["kind"]),
                bank_reference=row["bank_reference"],
            )
            transfer_id = f"{order['id']}.post"
        elif action == "to_suspense":
            if row["kind"] != "missing_at_platform" or row["bank_amount"] is None:
                raise Conflict("to_suspense books a bank movement the platform has no order for")
            order = uow.execute(select(bank_orders.c.id).where(bank_orders.c.id == row["order_id"])).first()
            if order is not None:
                raise Conflict("the platform has this order; use post_hold")
            debit, credit = (RESERVE, SUSPENSE) if row["direction"] == Direction.credit.value else (SUSPENSE, RESERVE)
            transfer_id = exception_id + ".susp"
            [result] = create_transfers(
                uow, [Transfer(transfer_id, debit, credit, row["bank_amount"], "CNY", "reconciliation")]
            )
            if result not in (TransferResult.ok, TransferResult.exists):
                raise Conflict(f"the suspense transfer failed: {result.value}")
        elif action == "reverse":
            transfer_id = _reverse_missing_at_bank(uow, row)
        values = {
            "status": "resolved",
            "action": action,
            "actor": actor,
            "transfer_id": transfer_id,
            "resolved_at": clock.now_micros(),
        }
        uow.execute(recon_exceptions.update().where(recon_exceptions.c.id == exception_id).values(**values))
        return {**row, **values}

    return transaction(engine, work)


def _reverse_missing_at_bank(uow: UnitOfWork, row: dict) -> str:
    """Undo an order the platform posted but the bank never moved: the hold's transfer backwards."""
    if row["kind"] != "missing_at_bank":
        raise Conflict("reverse undoes an order the bank has no record of (missing_at_bank)")
    order = uow.execute(select(bank_orders).where(bank_orders.c.id == row["order_id"])).mappings().first()
    if order is None or order["status"] != "posted":
        raise Conflict("only a posted order can be reversed")
    if order["id"].startswith(wallets.CLEARING_PREFIX):
        raise Conflict("a clearing order's movement is the books' own (its flow's): the bank is to carry it out")
    hold = get_transfers(uow.connection, [order["hold_transfer_id"]])[order["hold_transfer_id"]]
    transfer_id = row["id"] + ".rev"
    [result] = create_transfers(
        uow,
        [
            Transfer(
                transfer_id, hold.credit_account_id, hold.debit_account_id, order["amount"], "CNY", "reconciliation"
            )
        ],
    )
    if result == TransferResult.exceeds_credits:
        raise WalletSpent("the wallet no longer holds the money; recover it from the customer first")
    if result not in (TransferResult.ok, TransferResult.exists):
        raise Conflict(f"the reversing transfer failed: {result.value}")
    uow.execute(
        bank_orders.update()
        .where(bank_orders.c.id == order["id"])
        .values(status="reversed", failure_reason="missing_at_bank")
    )
    return transfer_id


def assign_suspense(engine: Engine, exception_id: str, customer_id: str, actor: str) -> dict:
    """Hand suspense money that came in without an order (booked by `to_suspense`) to the wallet of
    its owner, found by the operator from the bank's details. Once per exception; idempotent."""

    def work(uow: UnitOfWork) -> dict:
        query = select(recon_exceptions).where(recon_exceptions.c.id == exception_id)
        row = uow.execute(query.with_for_update() if uow.postgres else query).mappings().first()
        if row is None:
            raise NotFound(f"reconciliation exception {exception_id} not found")
        row = dict(row)
        if row["assigned_to"] is not None:
            if row["assigned_to"] != customer_id:
                raise Conflict(f"{exception_id} was already assigned to another wallet")
            return row
        if row["action"] != "to_suspense" or row["direction"] != Direction.credit.value:
            raise Conflict("only money booked into suspense from an incoming bank movement can be assigned")
        wallet = customer_wallet_id(customer_id)
        if get_account(uow.connection, wallet) is None:
            raise NotFound(f"customer {customer_id} has no wallet")
        transfer_id = exception_id + ".assign"
        [result] = create_transfers(
            uow, [Transfer(transfer_id, SUSPENSE, wallet, row["bank_amount"], "CNY", "reconciliation")]
        )
        if result not in (TransferResult.ok, TransferResult.exists):
            raise Conflict(f"the assigning transfer failed: {result.value}")
        values = {"assigned_to": customer_id, "assign_transfer_id": transfer_id}
        uow.execute(recon_exceptions.update().where(recon_exceptions.c.id == exception_id).values(**values))
        return {**row, **values}

    return transaction(engine, work)


RECONCILIATION_JOB = "reconciliation"  # its dates in `eod_runs`


def reconcile_days(
    engine: Engine, business_date: dt.date, statement_of: Callable[[dt.date], str | bytes], *, catch_up: bool = True
) -> eod_runs.Run[list[dict]]:
    """Reconciliation (对账) under the settlements' T+1 rule: each date matched
    against `statement_of(date)`, the dates of a gap first, in order (a date's match reads the lines
    of the dates before it). With one statement file (`catch_up=False`) a gap is refused."""
    return eod_runs.run_days(
        engine,
        RECONCILIATION_JOB,
        business_date,
        lambda day: reconcile(engine, day, statement_of(day)),
        catch_up=catch_up,
    )
