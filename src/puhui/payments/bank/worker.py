"""The bank worker (银行通道后台任务): what a payment institution runs beside its API, so a top-up or a
withdrawal never waits for an operator.

- `make_bank` builds the server's sandbox bank once, at start-up: it settles each order
  `sandbox_bank_delay_seconds` after accepting it (platform clock), opens the test cards of
  `sandbox_plan.TEST_CARDS` and any other valid card with `OTHER_CARD_BALANCE`, and holds on its
  reserve account what the ledger says the platform holds there. Its notifications come back to
  `receive`, in process. `align_reserve` does the same for a bank that already holds orders (the demo's
  seeding bank, once the simulated market booked its past). Either way the bank keeps the ledger position
  it holds the reserve as of (`ledger_mark`).
- `clear_reserve` is one pass of the reserve's clearing (`clearing`): what the ledger moved on the reserve
  since, without a bank order (a loan's own funds, a fund subscription, an insurer's claims funding), netted
  per counterparty and sent to the bank as orders, so its reserve stays the ledger's without aligning again.
- `receive` is the platform's notification handler (银行回调) without HTTP: the same signature, time
  window and replay checks as `POST /v1/bank/notifications` (one nonce cache for both), then the hold
  posted or voided once (`wallets.finish_notified`), audited as the bank's call.
- `deliver` is one pass of the delivery loop: the bank settles and pushes whatever is due now.
- `sweep` is one pass of the sweeper (掉单查询): orders still pending `after` their making are
  queried; final ones are finished the same way as a notification would (idempotent with it), an
  order the bank never got is submitted again (the same order id, so never twice).
- `install_bank` puts the bank on the app once; `start` (the app's lifespan) does that and runs
  the passes in loops as asyncio tasks (the clearing after each sweep). The passes are plain functions
  that return what they did, so tests call them directly.

A settlement payout finished by either pass is copied onto its settlement row (`settlement.sync`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from puhui import clock
from puhui.db import UnitOfWork, reading, transaction
from puhui.db.tables import audit_log
from puhui.errors import NotFound, PuhuiError
from puhui.ledger.service import get_account
from puhui.payments import settlement, wallets
from puhui.payments.bank import clearing
from puhui.payments.bank.channel import OrderKind
from puhui.payments.bank.sandbox.bank import DeliveryAttempt, SandboxBank
from puhui.payments.bank.sandbox.plan import OTHER_CARD_BALANCE, FaultPlan
from puhui.payments.bank.sandbox.shared import SharedSandboxBank
from puhui.payments.bank.signing import MemoryNonceCache, verify_notification
from puhui.payments.queries import posted_bank_orders_between
from puhui.settings import Settings

log = logging.getLogger("puhui.payments.bank")
BANK_PRINCIPAL = "bank"
OPENED = "the reserve account opened with what the ledger holds there"
ACTION = "payments.bank_notification"


def nonces_of(state: Any) -> MemoryNonceCache:
    """The app's one cache of notification nonces (HTTP and in-process deliveries share it)."""
    cache = getattr(state, "bank_nonces", None)
    if cache is None:
        cache = state.bank_nonces = MemoryNonceCache()
    return cache


# -- the server's sandbox bank ---------------------------------------------------------------------


def reserve_on_ledger(engine: Engine) -> int:
    """What the ledger says the platform holds on its reserve account (备付金账户), in fen."""
    return _reserve_position(engine)[0]


def _reserve_position(engine: Engine) -> tuple[int, int]:
    """The reserve's balance on the ledger (fen) and the ledger position it was read at (`clearing.ledger_position`)."""
    with reading(engine) as connection:
        account = get_account(connection, wallets.RESERVE)
        balance = 0 if account is None else max(0, account.debits_posted - account.credits_posted)
        return balance, clearing.ledger_position(connection)


def align_reserve(engine: Engine, bank: Any, reason: str) -> int:
    """The sandbox `bank`'s reserve account made to hold what the ledger says the platform holds there
    (`reserve_on_ledger`), by one deposit or withdrawal of the platform's own recorded with `reason`; returns
    the fen moved. Once, for a world whose reserve moved without any bank (the simulated market books its
    top-ups and withdrawals in the ledger alone), at a quiet moment: every order settled and notified. The
    bank keeps the ledger position it was aligned at (`ledger_mark`): what the ledger moves on the reserve
    later without a bank order reaches the bank through the clearing (`clear_reserve`). The reserve account's
    statement shows orders only, so reconciliation is unchanged."""
    balance, position = _reserve_position(engine)
    moved = bank.align_reserve(balance, reason, ledger_mark=position)
    if moved:
        log.info("sandbox bank reserve aligned with the ledger: %+d fen (%s)", moved, reason)
    return int(moved)


def record_booked_orders(engine: Engine, bank: Any) -> int:
    """The customers' bank orders the platform booked as the bank's answer without sending them (the demo's
    simulated market books its top-ups and withdrawals so, `sim.agents`) put on the sandbox bank's statements,
    so reconciling those days (银行对账) matches them instead of listing each as missing at the bank; no balance
    moves. Returns how many the bank did not know."""
    with reading(engine) as connection:
        booked = posted_bank_orders_between(connection, 0, clock.now_micros() + 1)
    return sum(
        bank.record_settled(
            o["id"],
            OrderKind(o["kind"]),
            o["card_id"],
            o["amount"],
            clock.from_micros(o["resolved_at"] or o["created_at"]),
        )
        for o in booked
    )


def clear_reserve(engine: Engine, bank: Any) -> list[dict]:
    """One pass of the reserve's clearing (`clearing.clear`) for a bank aligned to the ledger (it has a
    `ledger_mark`); a bank without one (a test's own, or none) is left alone: where its books start is unknown."""
    if getattr(bank, "ledger_mark", None) is None:
        return []
    return clearing.clear(engine, bank)


def sandbox_plan(settings: Settings) -> FaultPlan:
    """Every order settles `sandbox_bank_delay_seconds` after acceptance and is notified at once."""
    delay, now = dt.timedelta(seconds=settings.sandbox_bank_delay_seconds), dt.timedelta(0)
    return FaultPlan(processing=(delay, delay), notify_delay=(now, now))


def make_bank(engine: Engine, settings: Settings) -> SandboxBank:
    """The server's sandbox bank (no callback yet: `start` wires it to `receive`). Outside the sandbox it
        knows no card at all: the public test cards must never put money into a real platform. Its references
    carry a tag of its own (`SBX3FA2C1…`): each worker has a bank, and a restarted server a new one, and no two
    of them may hand out the same reference."""
    balance, position = _reserve_position(engine)
    bank = SandboxBank(
        settings.bank_notify_key,
        plan=sandbox_plan(settings),
        reserve_balance=balance,
        test_cards=settings.sandbox,
        auto_open_balance=OTHER_CARD_BALANCE if settings.sandbox else None,
        reference_prefix=f"SBX{secrets.token_hex(3).upper()}",
    )
    bank.align_reserve(balance, OPENED, ledger_mark=position)  # moves nothing: keeps where its books start
    return bank


# -- the notification handler, in process ----------------------------------------------------------


def receive(engine: Engine, key: str, nonces: MemoryNonceCache, body: bytes, header: str) -> int:
    """Handle one signed notification as `POST /v1/bank/notifications` does; returns the HTTP status
    the bank sees (2xx: received; anything else: the bank retries on its schedule)."""
    try:
        notice = verify_notification(body, header, key, nonces=nonces)
        transaction(engine, lambda uow: _apply(uow, notice))
    except PuhuiError as error:
        status, code = error.status, error.code
        log.warning("bank notification refused: %s %s", code, error.detail)
    else:
        return 200
    transaction(engine, lambda uow: _audit(uow, None, status, code))  # the refusal, audited on its own
    return status


def _apply(uow: UnitOfWork, notice) -> dict:
    answer = wallets.finish_notified(uow, notice)
    _audit(uow, notice.order_id, 200)
    return answer


def _audit(uow: UnitOfWork, order_id: str | None, status: int, error_code: str | None = None) -> None:
    uow.execute(
        audit_log.insert().values(
            at=clock.now_micros(),
            principal=BANK_PRINCIPAL,
            action=ACTION,
            target=order_id,
            source_ip=None,
            request_id="bank-worker",
            status_code=status,
            detail=json.dumps({"channel": "in_process", **({"error": error_code} if error_code else {})}),
        )
    )


# -- one pass of each loop --------------------------------------------------------------------------


def deliver(engine: Engine, bank: Any, now: dt.datetime | None = None) -> list[DeliveryAttempt]:
    """The bank settles and pushes whatever is due at `now` (platform time); returns the attempts.
    A bank without `deliver_due` (a real gateway calls over HTTP) has nothing to deliver here."""
    deliver_due = getattr(bank, "deliver_due", None)
    if deliver_due is None:
        return []
    attempts = deliver_due(now or clock.now())
    if any(a.delivered for a in attempts):
        settlement.sync(engine)
    return attempts


@dataclass
class SweepReport:
    """What one sweep did, order ids by outcome (see `wallets.recover_order`)."""

    finished: list[str] = field(default_factory=list)
    processing: list[str] = field(default_factory=list)
    resubmitted: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # the query or the finish raised; retried next sweep

    def add(self, outcome: str, order_id: str) -> None:
        getattr(self, outcome).append(order_id)


def sweep(
    engine: Engine,
    bank: Any,
    *,
    after: dt.timedelta,
    cards: wallets.CardLookup | None = None,
    now: dt.datetime | None = None,
) -> SweepReport:
    """Query the bank for every order still pending `after` its making (platform time) and finish
    the final ones; an order the bank never got is submitted again with `cards`."""
    made_by = clock.to_micros((now or clock.now()) - after)
    report = SweepReport()
    cards = clearing.with_counterparties(cards)
    for row in wallets.pending_orders(engine, made_by=made_by):
        try:
            outcome = wallets.recover_order(engine, bank, row, cards)
        except PuhuiError as error:
            log.warning("sweeping bank order %s failed: %s %s", row["id"], error.code, error.detail)
            outcome = "failed"
        report.add(outcome, row["id"])
    if report.finished:
        settlement.sync(engine)
    return report


def vault_cards(engine: Engine, settings: Settings) -> wallets.CardLookup:
    """Card numbers in clear from the PII vault: a customer's bound card, or a merchant's settlement
    account for a payout (`settlement.SETTLEMENT_CARD_ID`)."""
    from puhui.identity.customers import cards_of
    from puhui.identity.service import settlement_account, vault_for

    def card_number(owner_id: str, card_id: str) -> str:
        vault = vault_for(settings)
        with reading(engine) as connection:
            if card_id == settlement.SETTLEMENT_CARD_ID:
                return settlement_account(connection, vault, owner_id)[0]
            for card in cards_of(connection, vault, owner_id):
                if card["id"] == card_id and card["card_number"]:
                    return card["card_number"]
        raise NotFound(f"card {card_id} of {owner_id} is not known in clear")

    return card_number


# -- the loops in the server -------------------------------------------------------------------------


def install_bank(app: FastAPI, engine: Engine, settings: Settings) -> Any:
    """The app's bank, made once (unless the app already has one) and wired to `receive`."""
    bank = getattr(app.state, "bank", None)
    if bank is None:
        bank = hand_over(app, engine, settings, make_bank(engine, settings))
    return bank


def keep_bank(
    engine: Engine, settings: Settings, state: Path | None, seeding: SandboxBank | None = None
) -> SandboxBank | SharedSandboxBank | None:
    """The bank the server hands over (`hand_over`): with a `state` file (the demo's) one shared through it
    with every `puhui` command (`sandbox.shared`): the `seeding` bank of a new world, else the one kept
    there (a restarted server keeps its books), else a new one; without, the `seeding` bank, if any."""
    if state is None:
        return seeding
    plan = sandbox_plan(settings)
    if seeding is not None:
        return SharedSandboxBank.adopt(state, seeding, settings.bank_notify_key, plan=plan)
    return SharedSandboxBank.open(state, settings.bank_notify_key, lambda: make_bank(engine, settings), plan=plan)


def hand_over(app: FastAPI, engine: Engine, settings: Settings, bank: Any) -> Any:
    """`bank` becomes the app's, its notifications wired to `receive`: a bank that already holds orders
    (the demo's seeding bank) keeps its books and its references running, so they reconcile and stay unique."""
    nonces = nonces_of(app.state)
    bank.register_callback(lambda body, header: receive(engine, settings.bank_notify_key, nonces, body, header))
    app.state.bank = bank
    return bank


async def start(app: FastAPI, engine: Engine, settings: Settings) -> list[asyncio.Task]:
    """At start-up: the bank (`install_bank`), then the delivery loop and the sweeper as tasks (the
    caller cancels them at shutdown). Each pass reads `app.state.bank`, so a bank put there later is used."""
    await run_in_threadpool(install_bank, app, engine, settings)
    return [
        asyncio.create_task(_deliver_loop(app, engine, settings.bank_delivery_interval_seconds)),
        asyncio.create_task(_sweep_loop(app, engine, settings)),
    ]


async def _deliver_loop(app: FastAPI, engine: Engine, interval: float) -> None:
    while True:
        try:
            await run_in_threadpool(deliver, engine, app.state.bank)
        except Exception:  # keep the loop alive; the error is logged with its trace
            log.exception("delivering bank notifications failed")
        await asyncio.sleep(interval)


async def _sweep_loop(app: FastAPI, engine: Engine, settings: Settings) -> None:
    after, cards = dt.timedelta(seconds=settings.bank_sweep_after_seconds), vault_cards(engine, settings)
    while True:
        try:
            await run_in_threadpool(lambda: sweep(engine, app.state.bank, after=after, cards=cards))
        except Exception:  # keep the loop alive; the error is logged with its trace
            log.exception("sweeping pending bank orders failed")
        try:
            await run_in_threadpool(clear_reserve, engine, app.state.bank)
        except Exception:  # keep the loop alive; the error is logged with its trace
            log.exception("clearing the reserve's movements with the bank failed")
        await asyncio.sleep(settings.bank_sweep_interval_seconds)
