"""Statement-file faults the sandbox bank can inject, so reconciliation has something to find.

Faults change only the published file, never the bank's books: a real bank's statement can be
wrong (a line missing, a line that belongs to nobody, an amount keyed wrong, a line twice) while
its balances are right, and reconciliation must catch each one.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from puhui import clock
from puhui.errors import InvalidInput
from puhui.payments.bank.channel import CURRENCY
from puhui.payments.bank.statement import Direction, StatementLine


class StatementFault(enum.StrEnum):
    missing = "missing"  # a settled movement is left out of the file
    extra = "extra"  # the file has a movement the bank never made for the platform
    amount_differs = "amount_differs"  # a movement shows the wrong amount
    duplicate = "duplicate"  # a movement appears twice


@dataclass(frozen=True)
class InjectedFault:
    """One fault and the line it is about, as that line reads in the faulty file (or would have, if missing)."""

    kind: StatementFault
    line: StatementLine

    def to_json(self) -> dict[str, Any]:
        line = self.line
        return {
            "kind": self.kind.value,
            "bank_reference": line.bank_reference,
            "order_id": line.order_id,
            "direction": line.direction.value,
            "amount": line.amount,
            "currency": line.currency,
            "settled_date": line.settled_date.isoformat(),
            "value_time": clock.to_micros(line.value_time),
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> InjectedFault:
        line = StatementLine(
            bank_reference=document["bank_reference"],
            order_id=document["order_id"],
            direction=Direction(document["direction"]),
            amount=document["amount"],
            currency=document["currency"],
            settled_date=dt.date.fromisoformat(document["settled_date"]),
            value_time=clock.from_micros(document["value_time"]),
        )
        return cls(StatementFault(document["kind"]), line)


def _index(lines: list[StatementLine], reference: str) -> int | None:
    return next((i for i, line in enumerate(lines) if line.bank_reference == reference), None)


def apply_faults(lines: list[StatementLine], faults: list[InjectedFault]) -> list[StatementLine]:
    """The published lines: the true ones with each fault applied in the order injected."""
    result = list(lines)
    for fault in faults:
        if fault.kind == StatementFault.extra:
            result.append(fault.line)
            continue
        at = _index(result, fault.line.bank_reference)
        if at is None:
            continue  # its line is already gone (an earlier "missing")
        if fault.kind == StatementFault.missing:
            del result[at]
        elif fault.kind == StatementFault.duplicate:
            result.insert(at + 1, result[at])
        else:
            result[at] = replace(result[at], amount=fault.line.amount)
    return sorted(result, key=lambda line: line.value_time)


def noon(business_date: dt.date) -> dt.datetime:
    return dt.datetime.combine(business_date, dt.time(12), tzinfo=clock.CHINA).astimezone(clock.UTC)


def make_fault(
    kind: StatementFault | str,
    business_date: dt.date,
    true_lines: list[StatementLine],
    *,
    extra_reference: str,
    order_id: str | None = None,
    amount: int | None = None,
    direction: Direction | str = Direction.credit,
) -> InjectedFault:
    """The fault to inject into the statement of `business_date`, whose true lines are `true_lines`.

    `missing`, `duplicate`, `amount_differs` act on the line of `order_id` (default: the first
    line); `amount_differs` shows `amount` (default: one fen more). `extra` adds a movement the
    bank never made, `extra_reference`, for `order_id` (default `UNMATCHED-<reference>`),
    `amount` (default 1.00 CNY) and `direction`, at noon that day.
    """
    kind = StatementFault(kind)
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0):
        raise InvalidInput("a statement amount is a positive integer of fen")
    if kind == StatementFault.extra:
        line = StatementLine(
            extra_reference, order_id or f"UNMATCHED-{extra_reference}", Direction(direction), amount or 100,
            CURRENCY, business_date, noon(business_date),
        )  # fmt: skip
        return InjectedFault(kind, line)
    target = next((x for x in true_lines if order_id is None or x.order_id == order_id), None)
    if target is None:
        raise InvalidInput(f"no settled movement {order_id or ''} on {business_date} to alter")
    if kind == StatementFault.amount_differs:
        shown = amount if amount is not None else target.amount + 1
        if shown == target.amount:
            raise InvalidInput("a differing amount must differ")
        target = replace(target, amount=shown)
    return InjectedFault(kind, target)
