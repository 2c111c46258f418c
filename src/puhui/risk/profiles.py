"""Customer profiles (用户画像) from the platform's tables, as of a point in time.

Three ways to the same features (`puhui.risk.features`):
- `profile_as_of(connection, customer_id, at)`: one customer, from the rows with time <= `at`
  (a bank order counts once resolved <= `at`), so a profile for a past time never sees later events.
- `profiles_as_of(engine, at)`: everyone, with a handful of grouped SQL queries (a pandas DataFrame).
- `consume(engine)`: the outbox consumer keeping `risk_profiles` up to date from payment events.

How a stored profile relates to time: the consumer stores, per customer, the activity rows that can
still count in a window (90 days back from `as_of`, the newest event time applied) plus lifetime
device first-seen times, and the profile computed at `as_of`. `stored_profile(..., at)` recomputes
the windowed features from that activity at any `at >= as_of`, so windows decay correctly without
new events; for an earlier `at` it falls back to `profile_as_of` (the pruned rows are gone).
Identity facts (tenure, tier, verifications) are read through `identity.queries` at read time, and
payments, refunds and bank orders through the subqueries `payments.queries` publishes, so every
query here stays set-based SQL without naming another package's tables.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import astuple, dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, and_, case, distinct, func, select

from puhui import clock
from puhui.db import UnitOfWork, reading, transaction
from puhui.events.outbox import Event, advance_offset, consumer_offset, read_events
from puhui.identity import queries as identity_queries
from puhui.money import parse_minor
from puhui.payments import queries as payments_queries
from puhui.risk import features as F
from puhui.risk.errors import MissingLabel, UnknownCustomer
from puhui.risk.features_tables import risk_profiles

if TYPE_CHECKING:
    import pandas as pd

CONSUMER = "risk.profiles"
TOPIC = "payments"
KEEP_DAYS = 90  # the longest window


# -- one customer ---------------------------------------------------------------------------------


def identity_as_of(connection: Connection, customer_id: str, at: int) -> F.Identity:
    standing = identity_queries.standing_as_of(connection, customer_id, at)
    if standing is None:
        raise UnknownCustomer(f"no customer {customer_id} as of {clock.from_micros(at).isoformat()}")
    return F.Identity(standing.registered_at, standing.tier, standing.verifications)


def activity_as_of(connection: Connection, customer_id: str, at: int) -> F.Activity:
    """The customer's rows that can count in a window ending at `at` (nothing after `at`)."""
    start = at - KEEP_DAYS * clock.DAY_MICROS
    p = payments_queries.payments_made(start, at).c
    paid = [
        F.Paid(r.id, r.created_at, r.amount, r.payee_id, r.kind, r.device_id, r.location)
        for r in connection.execute(
            select(p.id, p.created_at, p.amount, p.payee_id, p.kind, p.device_id, p.location).where(
                p.payer_id == customer_id
            )
        )
    ]
    ever = payments_queries.payments_made(until=at).c
    devices = dict(
        connection.execute(
            select(ever.device_id, func.min(ever.created_at))
            .where(ever.payer_id == customer_id, ever.device_id.is_not(None))
            .group_by(ever.device_id)
        ).all()
    )
    p2p_in = [
        F.Received(*r)
        for r in connection.execute(
            select(p.id, p.created_at, p.amount).where(p.payee_id == customer_id, p.kind == "p2p")
        )
    ]
    r = payments_queries.refunds_made(start, at).c
    refunded = [
        F.Received(*row)
        for row in connection.execute(select(r.id, r.created_at, r.amount).where(r.payer_id == customer_id))
    ]
    b = payments_queries.resolved_bank_orders(start, at).c
    orders = [
        F.BankOrder(*row)
        for row in connection.execute(
            select(b.id, b.resolved_at, b.kind, b.status, b.amount).where(b.customer_id == customer_id)
        )
    ]
    return F.Activity(paid, p2p_in, refunded, orders, {k: int(v) for k, v in devices.items()})


def profile_as_of(connection: Connection, customer_id: str, at: int) -> dict[str, Any]:
    """The customer's features as of `at` (UTC micros); UnknownCustomer if not registered by then."""
    identity = identity_as_of(connection, customer_id, at)
    return F.compute(identity, activity_as_of(connection, customer_id, at), at)


# -- everyone -------------------------------------------------------------------------------------


def _n(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _sum(condition: Any, amount: Any) -> Any:
    return func.sum(case((condition, amount), else_=0))


def _night(column: Any) -> Any:
    day, shift = 86_400 * 1_000_000, F.CHINA_OFFSET_SECONDS * 1_000_000
    return (column + shift) % day < F.NIGHT_END_HOUR * 3600 * 1_000_000


def _merge(into: dict[str, dict[str, Any]], rows: Any) -> None:
    for row in rows:
        mapping = dict(row._mapping)
        target = into.get(mapping.pop("cid"))
        if target is not None:
            target.update({k: (None if v is None else int(v)) for k, v in mapping.items()})


def _counters(connection: Connection, at: int) -> dict[str, dict[str, Any]]:
    since = {d: at - d * clock.DAY_MICROS for d in (7, 30, 90)}
    zero = F.aggregate(F.Identity(at, None, 0), F.Activity(), at)
    out: dict[str, dict[str, Any]] = {
        cid: {
            **zero,
            "tenure_days": (at - s.registered_at) // clock.DAY_MICROS,
            "kyc_tier": s.tier,
            "verifications": s.verifications,
        }
        for cid, s in identity_queries.standings_as_of(connection, at).items()
    }
    p = payments_queries.payments_made(since[90], at).c
    in_window = {d: p.created_at > since[d] for d in since}
    paid_cols = [
        func.max(p.amount).label("payment_amount_max_90d"),
        func.count(distinct(p.payee_id)).label("counterparties_90d"),
        func.count(distinct(case((p.kind == "qr", p.payee_id)))).label("merchants_90d"),
        func.count(distinct(case((in_window[30], p.device_id)))).label("devices_30d"),
        func.count(distinct(case((in_window[30], p.location)))).label("locations_30d"),
        _n(and_(in_window[30], _night(p.created_at))).label("night_payments_30d"),
    ]
    for d in F.WINDOWS:
        paid_cols += [
            _n(in_window[d]).label(f"payments_count_{d}d"),
            _sum(in_window[d], p.amount).label(f"payments_amount_{d}d"),
        ]
    _merge(
        out,
        connection.execute(select(p.payer_id.label("cid"), *paid_cols).group_by(p.payer_id)),
    )
    ever = payments_queries.payments_made(until=at).c
    first_seen = (
        select(ever.payer_id, ever.device_id, func.min(ever.created_at).label("first"))
        .where(ever.device_id.is_not(None))
        .group_by(ever.payer_id, ever.device_id)
        .subquery()
    )
    _merge(
        out,
        connection.execute(
            select(
                first_seen.c.payer_id.label("cid"), func.max(first_seen.c.first).label("newest_device_first_seen")
            ).group_by(first_seen.c.payer_id)
        ),
    )
    p30 = payments_queries.payments_made(since[30], at).c
    _merge(
        out,
        connection.execute(
            select(
                p30.payee_id.label("cid"),
                func.count().label("p2p_received_count_30d"),
                func.sum(p30.amount).label("p2p_received_amount_30d"),
            )
            .where(p30.kind == "p2p")
            .group_by(p30.payee_id)
        ),
    )
    r = payments_queries.refunds_made(since[90], at).c
    _merge(
        out,
        connection.execute(
            select(
                r.payer_id.label("cid"),
                func.count().label("refunds_received_count_90d"),
                func.sum(r.amount).label("refunds_received_amount_90d"),
            ).group_by(r.payer_id)
        ),
    )
    b = payments_queries.resolved_bank_orders(since[90], at).c
    order_cols = [_n(b.status == "voided").label("bank_orders_failed_90d")]
    for d in (30, 90):
        for name, kind in (("top_ups", "debit_card"), ("withdrawals", "credit_card")):
            posted = and_(b.kind == kind, b.status == "posted", b.resolved_at > since[d])
            order_cols += [_n(posted).label(f"{name}_count_{d}d"), _sum(posted, b.amount).label(f"{name}_amount_{d}d")]
    _merge(
        out,
        connection.execute(select(b.customer_id.label("cid"), *order_cols).group_by(b.customer_id)),
    )
    return out


def profiles_as_of(engine: Engine, at: int) -> pd.DataFrame:
    """Everyone registered by `at`, one row each (index customer_id), features as of `at`.
    Integer features are nullable Int64; money and ratios stay Decimal (object columns)."""
    import pandas as pd

    with reading(engine) as connection:
        counters = _counters(connection, at)
    rows = [{"customer_id": cid, **F.finish(c, at)} for cid, c in sorted(counters.items())]
    frame = pd.DataFrame(rows, columns=["customer_id", *F.FEATURES], dtype=object).set_index("customer_id")
    for name, feature in F.FEATURES.items():
        if feature.kind == "int":
            frame[name] = frame[name].astype("Int64")
    return frame


def training_frame(engine: Engine, at: int, labels: Mapping[str, Any], label: str = "bad") -> pd.DataFrame:
    """Profiles as of `at` of the labelled customers, numeric (float, NaN for empty) for a model,
    with the label column joined. Features must predate the outcome: `at` is the observation time."""
    if not labels:
        raise MissingLabel("no labelled customers")
    frame = profiles_as_of(engine, at)
    unknown = sorted(set(labels) - set(frame.index))
    if unknown:
        raise UnknownCustomer(
            f"labelled customers not registered as of the time: {', '.join(unknown[:5])}", unknown=unknown
        )
    import pandas as pd

    chosen = frame.loc[sorted(labels)]
    numeric = pd.DataFrame(
        {
            name: [float("nan") if v is None or v is pd.NA else float(v) for v in chosen[name]]
            for name in chosen.columns
        },
        index=chosen.index,
    )
    numeric[label] = [labels[cid] for cid in numeric.index]
    return numeric


# -- the outbox consumer --------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredProfile:
    features: dict[str, Any]
    at: int
    as_of: int | None  # the newest event applied for the customer; None: no event yet


def _dump(activity: F.Activity) -> str:
    data = {
        "paid": [list(astuple(x)) for x in activity.paid],
        "p2p_in": [list(astuple(x)) for x in activity.p2p_in],
        "refunds": [list(astuple(x)) for x in activity.refunds],
        "orders": [list(astuple(x)) for x in activity.orders],
        "devices": activity.device_first_seen,
    }
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


def _load(data: Mapping[str, Any]) -> F.Activity:
    return F.Activity(
        [F.Paid(*x) for x in data["paid"]],
        [F.Received(*x) for x in data["p2p_in"]],
        [F.Received(*x) for x in data["refunds"]],
        [F.BankOrder(*x) for x in data["orders"]],
        dict(data["devices"]),
    )


def stored_profile(connection: Connection, customer_id: str, at: int | None = None) -> StoredProfile:
    """The consumer's profile at `at` (default now): exact for every event it has applied."""
    at = clock.now_micros() if at is None else at
    identity = identity_as_of(connection, customer_id, at)
    row = connection.execute(select(risk_profiles).where(risk_profiles.c.customer_id == customer_id)).mappings().first()
    if row is None:
        return StoredProfile(F.compute(identity, F.Activity(), at), at, None)
    if at < row["as_of"]:
        return StoredProfile(profile_as_of(connection, customer_id, at), at, row["as_of"])
    activity = _load(json.loads(row["features"])["activity"])
    return StoredProfile(F.compute(identity, activity, at), at, row["as_of"])


def _payment_of(event: Event) -> dict | None:
    if event.type == "p2p.completed":
        return event.payload
    if event.type == "payment.succeeded":
        return event.payload.get("payment")
    return None


def _changes(connection: Connection, events: list[Event]) -> dict[str, F.Activity]:
    """What the events add, per subject (customers and others; the caller keeps customers)."""
    adds: dict[str, F.Activity] = {}
    refund_ids, order_ids = [], []
    for event in events:
        p = _payment_of(event)
        if p is not None:
            fen = parse_minor(p["amount"], 2)
            adds.setdefault(p["payer_id"], F.Activity()).paid.append(
                F.Paid(
                    p["id"],
                    clock.micros_of(p["created_at"]),
                    fen,
                    p["payee_id"],
                    p["kind"],
                    p.get("device_id"),
                    p.get("location"),
                )
            )
            if p["kind"] == "p2p":
                adds.setdefault(p["payee_id"], F.Activity()).p2p_in.append(
                    F.Received(p["id"], clock.micros_of(p["created_at"]), fen)
                )
        elif event.type == "refund.succeeded":
            refund_ids.append(event.payload["refund_id"])
        elif event.type in ("bank_order.posted", "bank_order.voided"):
            order_ids.append(event.payload["order_id"])
    if refund_ids:  # the event lacks the payer and exact time: the committed rows have them
        r = payments_queries.refunds_made().c
        for rid, at, amount, payer in connection.execute(
            select(r.id, r.created_at, r.amount, r.payer_id).where(r.id.in_(refund_ids))
        ):
            adds.setdefault(payer, F.Activity()).refunds.append(F.Received(rid, at, amount))
    if order_ids:
        b = payments_queries.resolved_bank_orders().c
        for oid, cid, at, kind, status, amount in connection.execute(
            select(b.id, b.customer_id, b.resolved_at, b.kind, b.status, b.amount).where(b.id.in_(order_ids))
        ):
            adds.setdefault(cid, F.Activity()).orders.append(F.BankOrder(oid, at, kind, status, amount))
    return adds


def _union(old: list, new: list, keep_after: int) -> list:
    """Rows by id (an event applied twice adds nothing), without those no window can reach."""
    by_id = {x.id: x for x in new}
    by_id.update({x.id: x for x in old})
    return sorted((x for x in by_id.values() if x.at > keep_after), key=lambda x: (x.at, x.id))


def _apply_to(uow: UnitOfWork, customer_id: str, add: F.Activity, old_row: Mapping[str, Any] | None) -> None:
    old = _load(json.loads(old_row["features"])["activity"]) if old_row else F.Activity()
    times = [x.at for rows in (add.paid, add.p2p_in, add.refunds, add.orders) for x in rows]
    as_of = max([*times, *([old_row["as_of"]] if old_row else [])])
    keep_after = as_of - KEEP_DAYS * clock.DAY_MICROS
    devices = dict(old.device_first_seen)
    for p in add.paid:
        if p.device_id is not None:
            devices[p.device_id] = min(devices.get(p.device_id, p.at), p.at)
    activity = F.Activity(
        _union(old.paid, add.paid, keep_after),
        _union(old.p2p_in, add.p2p_in, keep_after),
        _union(old.refunds, add.refunds, keep_after),
        _union(old.orders, add.orders, keep_after),
        devices,
    )
    profile = F.compute(identity_as_of(uow.connection, customer_id, as_of), activity, as_of)
    text = json.dumps(
        {"profile": F.to_json(profile), "activity": json.loads(_dump(activity))},
        separators=(",", ":"),
        sort_keys=True,
        ensure_ascii=False,
    )
    values = {"features": text, "as_of": as_of, "updated_at": clock.now_micros()}
    if old_row is None:
        uow.execute(risk_profiles.insert().values(customer_id=customer_id, **values))
    else:
        uow.execute(risk_profiles.update().where(risk_profiles.c.customer_id == customer_id).values(**values))


def _apply(uow: UnitOfWork, after: int, events: list[Event]) -> bool:
    if consumer_offset(uow.connection, CONSUMER) != after:
        return False  # another run got here first; read again from its offset
    adds = _changes(uow.connection, events)
    known = identity_queries.known_customers(uow.connection, adds) if adds else set()
    query = (
        select(risk_profiles)
        .where(risk_profiles.c.customer_id.in_(sorted(known)))
        .order_by(risk_profiles.c.customer_id)
    )
    rows = {r["customer_id"]: r for r in uow.execute(query.with_for_update() if uow.postgres else query).mappings()}
    for customer_id in sorted(known):
        _apply_to(uow, customer_id, adds[customer_id], rows.get(customer_id))
    advance_offset(uow, CONSUMER, events[-1].position)
    return True


def consume(engine: Engine, batch_size: int = 500) -> int:
    """Apply every new payments event to the stored profiles, a batch per transaction with the
    offset advanced in it; returns how many events were read. Re-applying an event changes nothing."""
    read = 0
    while True:
        with reading(engine) as connection:
            after = consumer_offset(connection, CONSUMER)
        events = read_events(engine, after=after, limit=batch_size, topic=TOPIC)
        if not events:
            return read
        if transaction(engine, lambda uow, after=after, events=events: _apply(uow, after, events)):
            read += len(events)
