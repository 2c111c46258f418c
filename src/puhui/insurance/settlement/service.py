"""Insurer settlement (保费结算), each operation in the caller's unit of work: an insurer's terms, the
remittance of its held premiums net of the platform's commission, and its daily partner file.

Ledger (CNY), for a remittance of insurer X through date D (rules in `settlement.models`):
- commission: insurer.X.premium_held → platform.insurance_commission_income.CNY   (保险代理佣金收入)
- remittance: insurer.X.premium_held → platform.reserve_bank.CNY   (保费划转: the cash leaves the bank
  account merchants' settlements and partners' payouts leave from)
- funding: platform.reserve_bank.CNY → insurer.X.premium_held   (理赔备付金: the insurer wires money in
  for the claims the platform pays on its behalf; the terms' claims float is kept back from remittances).
  In the same unit of work the funding pays the insurer's approved claims waiting for money (待支付), oldest
  approval first and strictly in turn, as far as the held money now goes (`claims.waiting`: each through
  the claims' one payment path, transfer `clm.<claim id>`); its answer names the claims paid.
Premiums and refunds of the period are read from the held account's ledger history (transfer codes
`premium` and `refund`), so every product that holds premiums there is counted. Claims paid from the
held money (any other debit) reduce what is remitted. One row per (insurer, through date): running the
same date again answers that row and moves nothing.

A first remittance's period starts on the insurer's onboarding date (the business date it was registered
and its held account opened; the first movement's date should one be earlier), never before; remitting
through an earlier date is refused (`remittance_before_onboarding`). What is remitted is the money held
when remitting (premiums net of refunds and claims paid, the insurer's funding, and what earlier
remittances kept back), less the premiums collected after the period, the commission and the claims
float kept back: the answer names each (`held`, `later_premiums`, `commission`, `claims_float_kept`), so

    remitted = held − later_premiums − commission − claims_float_kept,

and names the insurer's own money inside `held` (`insurer_funding`: its fundings since the remittance before,
each counted by one remittance), so premiums and the insurer's funding are told apart.

They are read again from the held account's ledger history as it stood just before the remittance's own
transfers (or, when it moved nothing, as of its creation), so a rerun and a listing answer the same."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.eod.dates import check_date, check_over
from puhui.events.outbox import publish
from puhui.insurance.claims import waiting
from puhui.insurance.service import LEDGER, TOPIC, insurer_json, premium_held_account
from puhui.insurance.settlement import errors, models
from puhui.insurance.settlement.tables import insurer_remittances as remittances
from puhui.insurance.settlement.tables import insurer_settlement_terms as terms_table
from puhui.insurance.tables import insurers
from puhui.ledger.models import StoredTransfer, Transfer, TransferFlags
from puhui.ledger.service import account_history, create_account, get_account, post_chain
from puhui.money import format_minor
from puhui.payments.wallets import RESERVE

COMMISSION_INCOME = "platform.insurance_commission_income.CNY"
COMMISSION_CODE, REMITTANCE_CODE = "insurance_commission", "premium_remittance"
FUNDING_CODE = "claims_funding"
UNPOSTED = TransferFlags.pending | TransferFlags.void_pending


# -- terms -----------------------------------------------------------------------------------------


def set_terms(
    uow: UnitOfWork,
    insurer_id: str,
    rate: Decimal,
    schedule: models.Schedule,
    bank_name: str,
    bank_account: str,
    claims_float: int = 0,
) -> dict[str, Any]:
    """Set (or replace) the insurer's settlement terms (结算条款); later remittances use them."""
    insurer_json(uow.connection, insurer_id)
    try:
        models.check_rate(rate)
    except models.TermsError as error:
        raise errors.SettlementTermsInvalid(str(error)) from None
    values = {
        "commission_rate": str(rate.normalize() if rate else Decimal(0)),
        "schedule_kind": schedule.kind,
        "schedule_value": schedule.value,
        "bank_name": bank_name,
        "bank_account": bank_account,
        "claims_float": claims_float,
        "updated_at": clock.now_micros(),
    }
    found = uow.execute(select(terms_table.c.insurer_id).where(terms_table.c.insurer_id == insurer_id)).first()
    if found is None:
        uow.execute(terms_table.insert().values(insurer_id=insurer_id, **values))
    else:
        uow.execute(terms_table.update().where(terms_table.c.insurer_id == insurer_id).values(**values))
    publish(uow, TOPIC, "insurance.settlement_terms_set", insurer_id, {"insurer_id": insurer_id, **values})
    return terms_json(uow.connection, insurer_id)


def _terms_row(connection: Connection, insurer_id: str) -> Any:
    insurer_json(connection, insurer_id)
    row = connection.execute(select(terms_table).where(terms_table.c.insurer_id == insurer_id)).mappings().first()
    if row is None:
        raise errors.SettlementTermsMissing(f"insurer {insurer_id} has no settlement terms")
    return row


def _last_through(connection: Connection, insurer_id: str) -> dt.date | None:
    last = connection.execute(
        select(func.max(remittances.c.through)).where(remittances.c.insurer_id == insurer_id)
    ).scalar()
    return None if last is None else _as_date(last)


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def terms_json(connection: Connection, insurer_id: str) -> dict[str, Any]:
    """The terms as shown: the settlement account masked, and the next remittance date on the schedule."""
    row = _terms_row(connection, insurer_id)
    schedule = models.Schedule(row["schedule_kind"], row["schedule_value"])
    last = _last_through(connection, insurer_id)
    return {
        "insurer_id": insurer_id,
        "commission_rate": row["commission_rate"],
        "schedule": {"kind": schedule.kind, "value": schedule.value},
        "bank_name": row["bank_name"],
        "bank_account": models.mask_account(row["bank_account"]),
        "claims_float": format_minor(int(row["claims_float"]), 2),
        "last_remitted_through": None if last is None else last.isoformat(),
        "next_remittance": schedule.next_after(last or clock.business_date() - dt.timedelta(days=1)).isoformat(),
        "updated_at": clock.iso(row["updated_at"]),
    }


def list_insurers(connection: Connection) -> list[dict[str, Any]]:
    """Every insurer with its premiums held and, when set, its commission rate."""
    rates = dict(connection.execute(select(terms_table.c.insurer_id, terms_table.c.commission_rate)).all())
    ids = connection.execute(select(insurers.c.partner_id).order_by(insurers.c.partner_id)).scalars()
    return [{**insurer_json(connection, i), "commission_rate": rates.get(i)} for i in ids]


# -- the held account's history ----------------------------------------------------------------------


def held_history(connection: Connection, insurer_id: str) -> Iterator[StoredTransfer]:
    """Every posted transfer on the insurer's held account, in ledger order (a page at a time)."""
    account, after = premium_held_account(insurer_id), None
    while True:
        page = account_history(connection, account, after_seq=after, limit=500)
        yield from (t for t in page if not t.flags & UNPOSTED)
        if len(page) < 500:
            return
        after = page[-1].seq


def kind_of(transfer: StoredTransfer, held: str) -> str:
    """What a movement of held money is: premium, refund, commission, remittance, claim (any other debit)
    or credit (any other credit)."""
    if transfer.credit_account_id == held and transfer.code != FUNDING_CODE:
        return "premium" if transfer.code == "premium" else "credit"
    named = {"refund": "refund", COMMISSION_CODE: "commission", REMITTANCE_CODE: "remittance"}
    if transfer.code == FUNDING_CODE:
        return "funding"
    return named.get(transfer.code, "claim")


# -- remittance ------------------------------------------------------------------------------------


def _period_sums(connection: Connection, insurer_id: str, start: int, end: int) -> tuple[int, int, int, int]:
    """(premiums, refunds) in [start, end), premiums collected from `end` on, and all the insurer's funding."""
    held = premium_held_account(insurer_id)
    premiums = refunds = later = funded = 0
    for t in held_history(connection, insurer_id):
        kind = kind_of(t, held)
        funded += t.amount if kind == "funding" else 0
        if kind == "premium" and t.timestamp >= end:
            later += t.amount
        elif start <= t.timestamp < end:
            premiums += t.amount if kind == "premium" else 0
            refunds += t.amount if kind == "refund" else 0
    return premiums, refunds, later, funded


def _remittance_row(connection: Connection, insurer_id: str, through: dt.date) -> Any:
    return (
        connection.execute(
            select(remittances).where(remittances.c.insurer_id == insurer_id, remittances.c.through == through)
        )
        .mappings()
        .first()
    )


def _carried(connection: Connection, insurer_id: str, last: dt.date | None) -> int:
    return 0 if last is None else int(_remittance_row(connection, insurer_id, last)["carried"])


def remit(uow: UnitOfWork, insurer_id: str, through: dt.date) -> dict[str, Any]:
    """Remit the insurer's held premiums through `through` (保费划转), net of the platform's commission.
    The date must be over; the same date again answers the remittance made and moves nothing."""
    check_over(through, what="through")
    row = _terms_row(uow.connection, insurer_id)
    existing = _remittance_row(uow.connection, insurer_id, through)
    if existing is not None:
        return remittance_json(existing, _components(uow.connection, existing))
    last = _last_through(uow.connection, insurer_id)
    if last is not None and through < last:
        raise errors.RemittancePeriodClosed(f"insurer {insurer_id} is remitted through {last} already")
    start = _first_day(uow.connection, insurer_id) if last is None else last + dt.timedelta(days=1)
    if last is None and through < start:
        raise errors.RemittanceBeforeOnboarding(f"insurer {insurer_id} was onboarded on {start}, after {through}")
    premiums, refunds, later, funded = _period_sums(
        uow.connection, insurer_id, clock.day_bounds(start)[0], clock.day_bounds(through)[1]
    )
    rate = Decimal(row["commission_rate"])
    due = models.commission_due(rate, premiums - refunds, _carried(uow.connection, insurer_id, last))
    held = _held(uow.connection, insurer_id)
    parts = models.split(held - later, due, keep=int(row["claims_float"]))
    remittance_id = "isr_" + hashlib.sha256(f"{insurer_id}\x1f{through.isoformat()}".encode()).hexdigest()[:24]
    values = {
        "id": remittance_id,
        "insurer_id": insurer_id,
        "period_start": start,
        "through": through,
        "premiums": premiums,
        "refunds": refunds,
        "commission_rate": row["commission_rate"],
        "commission": parts.commission,
        "carried": parts.carried,
        "remitted": parts.remitted,
        "created_at": clock.now_micros(),
        "held": held,
        "later_premiums": later,
        "insurer_funding": funded - _funding_counted(uow.connection, insurer_id, through),
    }
    uow.execute(remittances.insert().values(**values))
    _post(uow, insurer_id, remittance_id, parts)
    answer = remittance_json(values, _components(uow.connection, values))
    publish(uow, TOPIC, "insurance.premium_remitted", remittance_id, answer)
    return answer


def _first_day(connection: Connection, insurer_id: str) -> dt.date:
    """Where an insurer's first remittance period starts: the business date it was onboarded (registered,
    its held account opened), or its first held movement's date should that be earlier."""
    onboarded = clock.china_date(
        connection.execute(select(insurers.c.created_at).where(insurers.c.partner_id == insurer_id)).scalar_one()
    )
    first = next(held_history(connection, insurer_id), None)
    return onboarded if first is None else min(onboarded, clock.china_date(first.timestamp))


def _components(connection: Connection, row: Any) -> dict[str, int]:
    """What the remittance was taken from: the money held, the insurer's own funding in it and the premiums
    collected after the period, as recorded when it was made; the claims float kept back is what is left of
    them after the commission and the remittance. A remittance made before they were recorded (migrations
    0045, 0046) has them read again from the held account's history as it stood just before its own
    transfers (as of its creation when it moved nothing)."""
    if row.get("held") is not None and row.get("later_premiums") is not None:
        held, later = int(row["held"]), int(row["later_premiums"])
    else:
        held, later, _ = _replayed(connection, row)
    kept = held - later - int(row["commission"]) - int(row["remitted"])
    return {
        "held": held,
        "insurer_funding": _insurer_funding(connection, row),
        "later_premiums": later,
        "claims_float_kept": max(kept, 0),
    }


def _insurer_funding(connection: Connection, row: Any) -> int:
    """The insurer's funding (理赔备付金) in a remittance's `held`: what it wired in since the remittance before."""
    if row.get("insurer_funding") is not None:
        return int(row["insurer_funding"])
    funded = _replayed(connection, row)[2]
    return funded - _funding_counted(connection, row["insurer_id"], _as_date(row["through"]))


def _funding_counted(connection: Connection, insurer_id: str, before: dt.date) -> int:
    """The insurer's funding the remittances through dates before `before` counted, all together: what
    they recorded, and for those made before it was recorded (migration 0046) the funding the last of them
    had seen."""
    rows = list(
        connection.execute(
            select(remittances)
            .where(remittances.c.insurer_id == insurer_id, remittances.c.through < before)
            .order_by(remittances.c.through)
        ).mappings()
    )
    legacy = [r for r in rows if r["insurer_funding"] is None]
    seen = _replayed(connection, legacy[-1])[2] if legacy else 0
    return seen + sum(int(r["insurer_funding"]) for r in rows if r["insurer_funding"] is not None)


def _replayed(connection: Connection, row: Any) -> tuple[int, int, int]:
    """(held, later premiums, the insurer's funding to date) of a remittance made before they were
    recorded, from the held money's history."""
    held_id = premium_held_account(row["insurer_id"])
    own = {f"ins.{row['id']}.commission", f"ins.{row['id']}.remittance"}
    moved = bool(int(row["commission"]) or int(row["remitted"]))
    after_period = clock.day_bounds(_as_date(row["through"]))[1]
    held = later = funded = 0
    for t in held_history(connection, row["insurer_id"]):
        if (t.id in own) if moved else (t.timestamp > row["created_at"]):
            break
        kind = kind_of(t, held_id)
        held += t.amount if t.credit_account_id == held_id else -t.amount
        later += t.amount if kind == "premium" and t.timestamp >= after_period else 0
        funded += t.amount if kind == "funding" else 0
    return held, later, funded


def fund(uow: UnitOfWork, insurer_id: str, amount: int, key: str) -> dict[str, Any]:
    """The insurer wires `amount` fen into the money held for it (理赔备付金), for the claims the platform
    pays on its behalf; one funding per key. Its approved claims waiting for money are paid from it at once,
    in turn (strict first in, first out: the first that does not fit stops), and `held` is what is left."""
    insurer_json(uow.connection, insurer_id)
    if amount <= 0:
        raise errors.SettlementTermsInvalid("a funding amount is positive")
    digest = hashlib.sha256(f"{insurer_id}\x1f{key}".encode()).hexdigest()[:24]
    transfer_id = f"ins.fund_{digest}.funding"
    held = premium_held_account(insurer_id)
    waiting.lock(uow, insurer_id)  # the claims before the accounts, as every payer takes them
    post_chain(uow, [Transfer(transfer_id, RESERVE, held, amount, LEDGER, FUNDING_CODE)], what="funding")
    sweep = waiting.pay_waiting(uow, insurer_id)
    answer = {
        "id": transfer_id,
        "insurer_id": insurer_id,
        "amount": format_minor(amount, 2),
        "held": format_minor(_held(uow.connection, insurer_id), 2),
        "claims_paid": list(sweep.paid),
        "claims_waiting": sweep.waiting,
        "created_at": clock.iso(clock.now_micros()),
    }
    publish(uow, TOPIC, "insurance.insurer_funded", transfer_id, answer)
    return answer


def _held(connection: Connection, insurer_id: str) -> int:
    account = get_account(connection, premium_held_account(insurer_id))
    return 0 if account is None else account.credits_posted - account.debits_posted - account.debits_pending


def _post(uow: UnitOfWork, insurer_id: str, remittance_id: str, parts: models.Split) -> None:
    held = premium_held_account(insurer_id)
    moves = []
    if parts.commission:
        create_account(uow, ledger=LEDGER, code="insurance_commission_income", id=COMMISSION_INCOME)
        moves.append(
            Transfer(
                f"ins.{remittance_id}.commission", held, COMMISSION_INCOME, parts.commission, LEDGER, COMMISSION_CODE
            )
        )
    if parts.remitted:
        moves.append(
            Transfer(f"ins.{remittance_id}.remittance", held, RESERVE, parts.remitted, LEDGER, REMITTANCE_CODE)
        )
    post_chain(uow, moves, what=f"insurer {insurer_id}'s held premiums cannot cover the remittance")


def remittance_json(row: Any, components: dict[str, int]) -> dict[str, Any]:
    """A remittance as answered, with what it was taken from (`_components`)."""
    money = ("premiums", "refunds", "commission", "carried", "remitted")
    return {
        "id": row["id"],
        "insurer_id": row["insurer_id"],
        "period_start": _as_date(row["period_start"]).isoformat(),
        "through": _as_date(row["through"]).isoformat(),
        "commission_rate": row["commission_rate"],
        **{k: format_minor(int(row[k]), 2) for k in money},
        **{k: format_minor(v, 2) for k, v in components.items()},
        "created_at": clock.iso(row["created_at"]),
    }


def list_remittances(connection: Connection, insurer_id: str) -> list[dict[str, Any]]:
    insurer_json(connection, insurer_id)
    rows = connection.execute(
        select(remittances).where(remittances.c.insurer_id == insurer_id).order_by(remittances.c.through)
    ).mappings()
    return [remittance_json(r, _components(connection, r)) for r in rows]


# -- the daily partner file (对账文件) ---------------------------------------------------------------


def file_lines(connection: Connection, insurer_id: str, day: dt.date) -> list[models.FileLine]:
    """The movements of the insurer's held money on the business date, in ledger order."""
    held = premium_held_account(insurer_id)
    start, end = clock.day_bounds(day)
    lines = []
    for t in held_history(connection, insurer_id):
        if start <= t.timestamp < end:
            lines.append(models.FileLine(day.isoformat(), kind_of(t, held), _reference(t.id), t.id, t.amount))
    return lines


def _reference(transfer_id: str) -> str:
    """The policy or remittance a transfer belongs to: its id between the prefix and the suffix."""
    parts = transfer_id.split(".")
    return ".".join(parts[1:-1]) if len(parts) > 2 else transfer_id


def partner_file(connection: Connection, insurer_id: str, day: dt.date) -> str:
    """The insurer's daily CSV (合作机构对账文件) for a business date that is not in the future."""
    check_date(day, what="date")
    insurer_json(connection, insurer_id)
    return models.partner_file(file_lines(connection, insurer_id, day))
