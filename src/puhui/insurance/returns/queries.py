"""Read-only questions about return-shipping insurance (退货运费险): a buyer's and a merchant's orders
with cover and returns claimed, and the abuse signals (骗保 / 恶意退货) the fraud rules may use.

- serial returner (职业退货人): in the window, at least SERIAL_MIN_RETURNS claims and a return rate of at
  least SERIAL_MIN_RATE of the buyer's covered orders;
- merchant collusion (商家合谋): in the window, at least COLLUSION_MIN_RETURNS confirmed returns that come
  from few buyers (distinct buyers ÷ returns at most FEW_BUYERS_RATIO), or a return rate at least
  PEER_MULTIPLE times the other merchants' rate taken together."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Connection, Table, distinct, func, select

from puhui import clock
from puhui.insurance.returns.models import ReturnCounts
from puhui.insurance.returns.tables import return_shipping_claims as claims
from puhui.insurance.returns.tables import return_shipping_policies as policies

WINDOW_DAYS = 90
SERIAL_MIN_RETURNS = 5
SERIAL_MIN_RATE = Decimal("0.5")
COLLUSION_MIN_RETURNS = 5
FEW_BUYERS_RATIO = Decimal("0.34")
PEER_MULTIPLE = 3


def _count(connection: Connection, table: Table, who: str, value: str, since: int) -> int:
    query = select(func.count()).select_from(table).where(table.c[who] == value, table.c.created_at >= since)
    return int(connection.execute(query).scalar_one())


def buyer_counts(connection: Connection, customer_id: str, since: int = 0) -> ReturnCounts:
    """The buyer's covered orders and returns claimed since `since` (all of them by default)."""
    return ReturnCounts(
        _count(connection, policies, "customer_id", customer_id, since),
        _count(connection, claims, "customer_id", customer_id, since),
    )


def merchant_counts(connection: Connection, merchant_id: str, since: int = 0) -> ReturnCounts:
    """The merchant's covered orders and confirmed returns since `since` (all of them by default)."""
    return ReturnCounts(
        _count(connection, policies, "merchant_id", merchant_id, since),
        _count(connection, claims, "merchant_id", merchant_id, since),
    )


def _rate(counts: ReturnCounts) -> Decimal:
    return Decimal(counts.returns) / counts.orders if counts.orders else Decimal(0)


@dataclass(frozen=True)
class BuyerSignal:
    """A buyer's returns in the window; `serial_returner` when they look like 恶意退货."""

    customer_id: str
    orders: int
    returns: int
    return_rate: Decimal
    serial_returner: bool


@dataclass(frozen=True)
class MerchantSignal:
    """A merchant's confirmed returns in the window, how many buyers they came from, the peers' rate."""

    merchant_id: str
    orders: int
    returns: int
    distinct_buyers: int
    return_rate: Decimal
    peer_return_rate: Decimal
    collusion: bool
    reasons: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class AbuseSignals:
    """The return-shipping abuse signals (骗保信号) over the last `window_days`."""

    window_days: int
    buyer: BuyerSignal | None
    merchant: MerchantSignal | None

    @property
    def flagged(self) -> bool:
        return bool(self.buyer and self.buyer.serial_returner) or bool(self.merchant and self.merchant.collusion)


def _buyer_signal(connection: Connection, customer_id: str, since: int) -> BuyerSignal:
    counts = buyer_counts(connection, customer_id, since)
    rate = _rate(counts)
    serial = counts.returns >= SERIAL_MIN_RETURNS and rate >= SERIAL_MIN_RATE
    return BuyerSignal(customer_id, counts.orders, counts.returns, rate, serial)


def _peer_counts(connection: Connection, merchant_id: str, since: int) -> ReturnCounts:
    orders = select(func.count()).where(policies.c.merchant_id != merchant_id, policies.c.created_at >= since)
    returns = select(func.count()).where(claims.c.merchant_id != merchant_id, claims.c.created_at >= since)
    return ReturnCounts(int(connection.execute(orders).scalar_one()), int(connection.execute(returns).scalar_one()))


def _merchant_signal(connection: Connection, merchant_id: str, since: int) -> MerchantSignal:
    counts = merchant_counts(connection, merchant_id, since)
    buyers_query = select(func.count(distinct(claims.c.customer_id))).where(
        claims.c.merchant_id == merchant_id, claims.c.created_at >= since
    )
    buyers = int(connection.execute(buyers_query).scalar_one())
    rate, peers = _rate(counts), _peer_counts(connection, merchant_id, since)
    peer_rate = _rate(peers)
    reasons: list[str] = []
    if counts.returns >= COLLUSION_MIN_RETURNS:
        if Decimal(buyers) / counts.returns <= FEW_BUYERS_RATIO:
            reasons.append(f"{counts.returns} returns from {buyers} buyers")
        if peers.orders and rate >= PEER_MULTIPLE * peer_rate:
            reasons.append(f"return rate {rate:.4f} >= {PEER_MULTIPLE} x peers' {peer_rate:.4f}")
    return MerchantSignal(
        merchant_id, counts.orders, counts.returns, buyers, rate, peer_rate, bool(reasons), tuple(reasons)
    )


def return_abuse_signals(
    connection: Connection,
    customer_id: str | None = None,
    merchant_id: str | None = None,
    window_days: int = WINDOW_DAYS,
) -> AbuseSignals:
    """Serial-returner signals for a buyer and collusion signals for a merchant over the last window."""
    since = clock.now_micros() - window_days * clock.DAY_MICROS
    buyer = None if customer_id is None else _buyer_signal(connection, customer_id, since)
    merchant = None if merchant_id is None else _merchant_signal(connection, merchant_id, since)
    return AbuseSignals(window_days, buyer, merchant)
