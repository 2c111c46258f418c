"""Top-up and withdrawal through the bank channel, with two-phase ledger holds.

Top-up: in one unit of work a pending transfer reserve → wallet and the order row; after commit,
`bank.submit`. A merchant's top-up (商户充值) is the same order, drawn on its settlement account
(`SETTLEMENT_CARD_ID`), into one of its funds apart from the wallet (`MerchantFunds`), which settlement
never pays back out: its refund funds (退款资金, `refund_funds_id`), the money it adds to pay refunds its
balance cannot, which a refund draws on after the wallet (`service.refund`); or, for a core enterprise of
supply-chain finance, its payables funds (兑付资金, `payables_funds_id`), set aside to pay its confirmed
payables at maturity, which the payment draws on before the wallet (`puhui.supplychain.service.pay`).
Withdrawal: a pending transfer wallet → reserve first (the wallet cannot spend the money twice), then the
payout order. A verified notification (or the sweeper's `bank.query`) posts or voids the hold exactly once,
however many times the outcome arrives.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import Engine, select

from puhui import clock
from puhui.db import UnitOfWork, reading, transaction
from puhui.errors import Conflict, InvalidInput, NotFound
from puhui.identity.service import customer_wallet_id, merchant_wallet_id, tier_of
from puhui.ledger.errors import InsufficientFunds, Shortfall
from puhui.ledger.models import AccountFlags, AccountResult, Transfer, TransferFlags, TransferResult
from puhui.ledger.service import create_account, create_transfers, get_account, post_chain
from puhui.money import format_minor
from puhui.payments.bank.channel import BankNotification, BankOrder, OrderKind, OrderState
from puhui.payments.errors import (
    AmountAboveOrderMaximum,
    BankNotificationMismatch,
    BankOrderConflict,
    BankOrderNotFound,
    ChannelUnavailable,
    InvalidBankOrder,
    PayablesFundsInsufficient,
    RefundFundsInsufficient,
    TopUpNotFound,
    WalletUnverified,
    WithdrawalNotFound,
)
from puhui.payments.tables import bank_orders

log = logging.getLogger("puhui.payments")
RESERVE = "platform.reserve_bank.CNY"


ORDER_PREFIX = {OrderKind.debit_card: "tu_", OrderKind.credit_card: "wd_"}
MERCHANT_TOP_UP_PREFIX = "mtu_"
SETTLEMENT_CARD_ID = "settlement_account"  # the card id of a merchant's orders: its settlement bank account
MERCHANT_TOP_UP = "merchant_top_up"  # ledger code: reserve → the merchant's refund funds
REFUND_FUNDING = "merchant_refund_funding"  # ledger code: refund funds → merchant wallet, for a refund
MERCHANT_WITHDRAWAL_PREFIX = "mrw_"
MERCHANT_REFUND_WITHDRAWAL = "merchant_refund_withdrawal"  # ledger code: refund funds → reserve, back to its bank
CLEARING_PREFIX = "rc_"
"""The orders of the reserve's clearing (`bank.clearing`): they carry out at the bank what the ledger moved on the
reserve with a flow of its own (a loan's own funds, a fund subscription), so they hold nothing themselves."""
MAX_MERCHANT_ORDER = 5_000_000_00
"""The largest single bank order of a merchant (fen: 5,000,000.00 CNY), a top-up of its refund funds or their
withdrawal: a corporate account's usual single online-transfer limit. The amount field alone allows 16
digits (and the bank channel 10**15 fen), which no settlement account can cover: the bank would only fail
the order after the 202."""


def refund_funds_id(merchant_id: str) -> str:
    """A merchant's refund funds (退款资金): what it topped up from its bank account to pay refunds. Opened by
    its first top-up, code `merchant_wallet` (money owed to the merchant, covered by the reserve), apart
    from the wallet, whose balance settlement pays out."""
    return "refund_funds." + merchant_id


def payables_funds_id(merchant_id: str) -> str:
    """A core enterprise's payables funds (兑付资金): what it topped up from its bank account to pay its
    confirmed payables at maturity. Opened by its first top-up, as the refund funds are."""
    return "payables_funds." + merchant_id


@dataclass(frozen=True)
class MerchantFunds:
    """A merchant's funds apart from its wallet, topped up from its settlement account and withdrawn back to it:
    their account, the ledger codes of the two orders' holds, the orders' id prefixes and tags (an order id is a
    digest of the merchant, the tag and the client's id), and the error of a withdrawal they cannot cover."""

    name: str
    account_id: Callable[[str], str]
    top_up_code: str
    withdrawal_code: str
    top_up_prefix: str
    withdrawal_prefix: str
    top_up_tag: str
    withdrawal_tag: str
    short: type[Conflict]
    label: str  # as a refusal names them


REFUND_FUNDS = MerchantFunds(
    "refund_funds",
    refund_funds_id,
    MERCHANT_TOP_UP,
    MERCHANT_REFUND_WITHDRAWAL,
    MERCHANT_TOP_UP_PREFIX,
    MERCHANT_WITHDRAWAL_PREFIX,
    "merchant_top_up",
    "merchant_withdrawal",
    RefundFundsInsufficient,
    "refund funds",
)
PAYABLES_FUNDS = MerchantFunds(
    "payables_funds",
    payables_funds_id,
    "payables_funds_top_up",
    "payables_funds_withdrawal",
    "mpt_",
    "mpw_",
    "payables_funds_top_up",
    "payables_funds_withdrawal",
    PayablesFundsInsufficient,
    "payables funds",
)


def order_id_for(customer_id: str, kind: OrderKind, client_id: str) -> str:
    digest = hashlib.sha256(f"{customer_id}\x1f{kind.value}\x1f{client_id}".encode()).hexdigest()[:32]
    return ORDER_PREFIX[kind] + digest


# What the customer sees of an order's hold: pending, then succeeded (posted) or failed (voided).
CUSTOMER_STATUS = {"pending": "pending", "posted": "succeeded", "voided": "failed"}
KIND_NAMES = {OrderKind.debit_card.value: "top_up", OrderKind.credit_card.value: "withdrawal"}


def _iso(micros: int | None) -> str | None:
    return None if micros is None else clock.from_micros(micros).isoformat()


def order_json(row, card_number: str | None = None) -> dict:
    """A top-up (充值) or withdrawal (提现) as its customer sees it; the card masked (BIN and last 4)."""
    from puhui.identity.models import mask_card_number

    return {
        "id": row["id"],
        "kind": KIND_NAMES[row["kind"]],
        "amount": format_minor(row["amount"], 2),
        "currency": "CNY",
        "status": CUSTOMER_STATUS[row["status"]],
        "failure_reason": row["failure_reason"],
        "card_id": row["card_id"],
        "card": mask_card_number(card_number) if card_number else None,
        "bank_reference": row["bank_reference"],
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["resolved_at"] or row["created_at"]),
    }


def _merchant_amount(amount: int) -> None:
    if amount <= 0:
        raise InvalidInput("amount must be greater than zero")
    if amount > MAX_MERCHANT_ORDER:
        raise AmountAboveOrderMaximum(
            f"{format_minor(amount, 2)} CNY is above the largest single order of "
            f"{format_minor(MAX_MERCHANT_ORDER, 2)} CNY: split it into several orders",
            maximum=format_minor(MAX_MERCHANT_ORDER, 2),
        )


def merchant_withdrawal_id(merchant_id: str, client_id: str, funds: MerchantFunds = REFUND_FUNDS) -> str:
    digest = hashlib.sha256(f"{merchant_id}\x1f{funds.withdrawal_tag}\x1f{client_id}".encode()).hexdigest()[:32]
    return funds.withdrawal_prefix + digest


def merchant_top_up_id(merchant_id: str, client_id: str, funds: MerchantFunds = REFUND_FUNDS) -> str:
    digest = hashlib.sha256(f"{merchant_id}\x1f{funds.top_up_tag}\x1f{client_id}".encode()).hexdigest()[:32]
    return funds.top_up_prefix + digest


def _customer_orders(customer_id: str, kind: OrderKind, prefix: str | None = None):
    return select(bank_orders).where(
        bank_orders.c.customer_id == customer_id,
        bank_orders.c.kind == kind.value,
        bank_orders.c.id.startswith(prefix or ORDER_PREFIX[kind], autoescape=True),
    )


def order_of(connection, customer_id: str, kind: OrderKind, order_id: str, prefix: str | None = None) -> dict:
    """The customer's own order of this kind; any other id is not found (never another's). `prefix`: of a
    merchant's top-ups (`MERCHANT_TOP_UP_PREFIX`)."""
    query = _customer_orders(customer_id, kind, prefix).where(bank_orders.c.id == order_id)
    row = connection.execute(query).mappings().first()
    if row is None:
        missing = TopUpNotFound if kind == OrderKind.debit_card else WithdrawalNotFound
        raise missing(f"no {KIND_NAMES[kind.value].replace('_', '-')} {order_id}")
    return dict(row)


def orders_of(connection, customer_id: str, kind: OrderKind, limit: int, prefix: str | None = None) -> list[dict]:
    """The customer's latest orders of this kind, newest first (`prefix`: as `order_of`)."""
    query = _customer_orders(customer_id, kind, prefix).order_by(
        bank_orders.c.created_at.desc(), bank_orders.c.id.desc()
    )
    return [dict(r) for r in connection.execute(query.limit(limit)).mappings()]


def open_order(uow: UnitOfWork, customer_id: str, card_id: str, kind: OrderKind, amount: int, client_id: str) -> dict:
    """The hold and the order row (idempotent by the client id); submit after commit."""
    if amount <= 0:
        raise InvalidInput("amount must be greater than zero")
    order_id = order_id_for(customer_id, kind, client_id)
    existing = _existing_order(uow, order_id, amount, card_id)
    if existing is not None:
        return existing
    if tier_of(uow.connection, customer_id) is None:
        raise WalletUnverified(f"customer {customer_id} has no payment account class yet: verify before moving money")
    wallet = customer_wallet_id(customer_id)
    debit, credit = (RESERVE, wallet) if kind == OrderKind.debit_card else (wallet, RESERVE)
    code = "top_up" if kind == OrderKind.debit_card else "withdrawal"
    return _open(uow, order_id, customer_id, card_id, kind, amount, Transfer("", debit, credit, amount, "CNY", code))


def open_merchant_top_up(
    uow: UnitOfWork, merchant_id: str, amount: int, client_id: str, funds: MerchantFunds = REFUND_FUNDS
) -> dict:
    """A merchant's top-up (商户充值) from its settlement account into `funds` (its refund funds unless told,
    opened by the first): the hold reserve → funds and the order row, idempotent by the client id; submit after
    commit. A suspended merchant may top up too: it may still owe refunds or payables. At most
    `MAX_MERCHANT_ORDER` (`AmountAboveOrderMaximum`)."""
    _merchant_amount(amount)
    order_id = merchant_top_up_id(merchant_id, client_id, funds)
    existing = _existing_order(uow, order_id, amount, SETTLEMENT_CARD_ID)
    if existing is not None:
        return existing
    if get_account(uow.connection, merchant_wallet_id(merchant_id)) is None:
        raise NotFound(f"merchant {merchant_id} not found")
    account = funds.account_id(merchant_id)
    result, _ = create_account(
        uow,
        ledger="CNY",
        code="merchant_wallet",
        owner_id=merchant_id,
        flags=AccountFlags.debits_must_not_exceed_credits,
        id=account,
    )
    if result not in (AccountResult.ok, AccountResult.exists):
        raise Conflict(f"the {funds.label} of merchant {merchant_id} cannot be opened: {result.value}")
    hold = Transfer("", RESERVE, account, amount, "CNY", funds.top_up_code)
    return _open(uow, order_id, merchant_id, SETTLEMENT_CARD_ID, OrderKind.debit_card, amount, hold)


def funds_available(connection, account_id: str) -> int:
    """What a merchant's funds can pay now (fen): posted in, less posted and held out (0 before they open)."""
    account = get_account(connection, account_id)
    return 0 if account is None else account.credits_posted - account.debits_posted - account.debits_pending


def funds_json(connection, account_id: str) -> dict:
    """A merchant's funds as their owner sees them (zero before their first top-up)."""
    account = get_account(connection, account_id)
    pending_in = 0 if account is None else account.credits_pending
    pending_out = 0 if account is None else account.debits_pending
    return {
        "account_id": account_id,
        "currency": "CNY",
        "available": format_minor(funds_available(connection, account_id), 2),
        "pending_in": format_minor(pending_in, 2),
        "pending_out": format_minor(pending_out, 2),
    }


def open_merchant_withdrawal(
    uow: UnitOfWork, merchant_id: str, amount: int, client_id: str, funds: MerchantFunds = REFUND_FUNDS
) -> dict:
    """A merchant's withdrawal of `funds` (its refund funds unless told: 退款资金提现) back to its settlement
    account: the hold funds → reserve (nothing else can spend that money meanwhile) and the order row,
    idempotent by the client id; submit after commit. At most what is available in them (`funds.short`, 409)
    and `MAX_MERCHANT_ORDER` (`AmountAboveOrderMaximum`, 422)."""
    _merchant_amount(amount)
    order_id = merchant_withdrawal_id(merchant_id, client_id, funds)
    existing = _existing_order(uow, order_id, amount, SETTLEMENT_CARD_ID)
    if existing is not None:
        return existing
    if get_account(uow.connection, merchant_wallet_id(merchant_id)) is None:
        raise NotFound(f"merchant {merchant_id} not found")
    available = funds_available(uow.connection, funds.account_id(merchant_id))
    what = (
        f"the withdrawal of {format_minor(amount, 2)} CNY is more than the {format_minor(available, 2)} CNY "
        f"available in the merchant's {funds.label} (top-ups still pending at the bank are not available)"
    )
    if amount > available:
        raise funds.short(what, available=format_minor(available, 2))
    hold = Transfer("", funds.account_id(merchant_id), RESERVE, amount, "CNY", funds.withdrawal_code)
    kind = OrderKind.credit_card
    return _open(uow, order_id, merchant_id, SETTLEMENT_CARD_ID, kind, amount, hold, funds.short, what)


def _existing_order(uow: UnitOfWork, order_id: str, amount: int, card_id: str) -> dict | None:
    existing = uow.execute(select(bank_orders).where(bank_orders.c.id == order_id)).mappings().first()
    if existing is None:
        return None
    if existing["amount"] != amount or existing["card_id"] != card_id:
        raise Conflict(f"order {order_id} exists with a different amount or card")
    return dict(existing)


def _open(
    uow: UnitOfWork,
    order_id: str,
    owner_id: str,
    card_id: str,
    kind: OrderKind,
    amount: int,
    hold: Transfer,
    short: Shortfall = InsufficientFunds,
    what: str | None = None,
) -> dict:
    """The order's hold (`hold`, made pending under the order's hold id) and its row; `short(what)`: the
    error of a hold its debit account cannot cover."""
    hold_id = order_id + ".hold"
    post_chain(
        uow,
        [replace(hold, id=hold_id, flags=TransferFlags.pending)],
        short=short,
        what=what or f"the wallet cannot cover {format_minor(amount, 2)}",
    )
    row = {
        "id": order_id,
        "kind": kind.value,
        "customer_id": owner_id,
        "card_id": card_id,
        "amount": amount,
        "hold_transfer_id": hold_id,
        "status": "pending",
        "failure_reason": None,
        "bank_reference": None,
        "created_at": clock.now_micros(),
        "resolved_at": None,
    }
    uow.execute(bank_orders.insert().values(**row))
    return row


ORDER_REFUSED = "order_refused"  # the bank refused the order itself: it never reached the card


def names_account(row: dict) -> bool:
    """Whether an order goes to (or draws on) a corporate account (对公账户) rather than a card: a merchant's
    orders name its settlement account (`SETTLEMENT_CARD_ID`), the reserve's clearing a counterparty's."""
    return row["card_id"] == SETTLEMENT_CARD_ID or str(row["id"]).startswith(CLEARING_PREFIX)


def submit(
    bank,
    order_id: str,
    card: str,
    kind: OrderKind,
    amount: int,
    engine: Engine | None = None,
    *,
    account: bool = False,
) -> bool:
    """Send the order; a lost acknowledgement is retried once, then left to the sweeper. An order the
    bank refuses outright (invalid, or a conflicting order under its id) can never succeed: with
    `engine` it fails at once (`order_refused`, the hold voided) instead of waiting for ever, and so does
    one that is not even a valid order (`BankOrder` refuses it), so that one bad order never stops the
    caller's others (a settlement run pays every other merchant). `account`: the order names a corporate
    account (`names_account`), not a card."""
    for _ in range(2):
        try:
            bank.submit(BankOrder(order_id, kind, card, amount, account=account))
            return True
        except ChannelUnavailable:
            continue
        except (InvalidBankOrder, BankOrderConflict) as refused:
            if engine is None:
                raise
            log.warning("bank refused order %s: %s %s", order_id, refused.code, refused.detail)
            transaction(
                engine, lambda uow: finish(uow, order_id, OrderState.failed, amount, kind, failure_reason=ORDER_REFUSED)
            )
            return False
    log.warning("bank did not acknowledge %s; the sweeper will retry", order_id)
    return False


def finish(
    uow: UnitOfWork,
    order_id: str,
    state: OrderState,
    amount: int,
    kind: OrderKind,
    bank_reference: str | None = None,
    failure_reason: str | None = None,
) -> str:
    """Post (succeeded) or void (failed) the hold once; later copies change nothing."""
    query = select(bank_orders).where(bank_orders.c.id == order_id)
    row = uow.execute(query.with_for_update() if uow.postgres else query).mappings().first()
    if row is None:
        raise NotFound(f"bank order {order_id} not found")
    if (amount, kind.value) != (row["amount"], row["kind"]):
        raise BankNotificationMismatch(f"{order_id}: the bank reports {format_minor(amount, 2)} CNY {kind.value}")
    outcome = "posted" if state == OrderState.succeeded else "voided"
    if row["status"] != "pending":
        if row["status"] != outcome:
            log.error("bank order %s was %s, the bank now reports %s", order_id, row["status"], outcome)
        return row["status"]
    clearing = order_id.startswith(CLEARING_PREFIX)  # no hold: its money moved in the ledger with its flow
    if not clearing:
        flag = TransferFlags.post_pending if outcome == "posted" else TransferFlags.void_pending
        [result] = create_transfers(
            uow, [Transfer(f"{order_id}.{outcome[:4]}", flags=flag, pending_id=row["hold_transfer_id"])]
        )
        if result not in (TransferResult.ok, TransferResult.exists):
            raise Conflict(f"finishing {order_id} failed: {result.value}")
    uow.execute(
        bank_orders.update()
        .where(bank_orders.c.id == order_id)
        .values(
            status=outcome, resolved_at=clock.now_micros(), bank_reference=bank_reference, failure_reason=failure_reason
        )
    )
    from puhui.events.outbox import publish

    if clearing:  # the platform's own, no customer's: nothing for the fraud and monitoring consumers
        return outcome
    publish(
        uow,
        "payments",
        f"bank_order.{outcome}",
        row["customer_id"],
        {"order_id": order_id, "kind": row["kind"], "amount": format_minor(amount, 2), "status": outcome},
    )
    return outcome


def finish_notified(uow: UnitOfWork, notice: BankNotification) -> dict:
    """A verified bank notification (银行回调) applied: the hold posted or voided once; the answer body."""
    reason = notice.failure_reason.value if notice.failure_reason else None
    outcome = finish(uow, notice.order_id, notice.state, notice.amount, notice.kind, notice.bank_reference, reason)
    return {"order_id": notice.order_id, "status": outcome}


# A card number in clear for (customer or merchant id, card id): what a resubmitted order is sent to.
CardLookup = Callable[[str, str], str]


def recover_order(engine: Engine, bank, row: dict, cards: CardLookup | None = None) -> str:
    """Query the bank for one pending order (主动查询) and finish it when final. Returns `finished`,
    `processing` (the bank is still working on it), `resubmitted` (the bank never got it and it was
    sent again, with `cards`) or `unknown` (never got it, no `cards`, or no acknowledgement)."""
    try:
        status = bank.query(row["id"])
    except BankOrderNotFound:
        if cards is None:
            return "unknown"
        card = cards(row["customer_id"], row["card_id"])
        sent = submit(bank, row["id"], card, OrderKind(row["kind"]), row["amount"], engine, account=names_account(row))
        return "resubmitted" if sent else "unknown"
    if not status.final:
        return "processing"
    reason = status.failure_reason.value if status.failure_reason else None
    transaction(
        engine,
        lambda uow: finish(
            uow, status.order_id, status.state, status.amount, status.kind, status.bank_reference, reason
        ),
    )
    return "finished"


def pending_orders(engine: Engine, made_by: int | None = None) -> list[dict]:
    """Orders whose hold is still pending, oldest first (made at or before `made_by` micros, if given)."""
    query = select(bank_orders).where(bank_orders.c.status == "pending")
    if made_by is not None:
        query = query.where(bank_orders.c.created_at <= made_by)
    with reading(engine) as connection:
        return [
            dict(r) for r in connection.execute(query.order_by(bank_orders.c.created_at, bank_orders.c.id)).mappings()
        ]


def recover_pending_orders(engine: Engine, bank, cards: CardLookup | None = None) -> int:
    """Query every pending order; finish the final ones (returns how many). An order the bank never
    got is submitted again when `cards(customer_id, card_id) -> card number` is given."""
    return sum(recover_order(engine, bank, row, cards) == "finished" for row in pending_orders(engine))
