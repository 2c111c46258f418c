"""The pure feature computation: later rows never change an earlier profile, windows nest, types
match the registry, JSON round-trips."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from puhui import clock
from puhui.risk import features as F

T0 = 1_767_576_600_000_000  # 2026-01-05 01:30 UTC
SPAN = 200 * clock.DAY_MICROS
times = st.integers(T0, T0 + SPAN)
fen = st.integers(1, 10_000_00)

paid = st.builds(
    F.Paid,
    id=st.uuids().map(str),
    at=times,
    amount=fen,
    payee_id=st.sampled_from(["cus_b", "mch_1", "mch_2"]),
    kind=st.sampled_from(["p2p", "qr"]),
    device_id=st.sampled_from([None, "d1", "d2", "d3"]),
    location=st.sampled_from([None, "BJ", "SH"]),
)
received = st.builds(F.Received, id=st.uuids().map(str), at=times, amount=fen)
orders = st.builds(
    F.BankOrder,
    id=st.uuids().map(str),
    at=times,
    kind=st.sampled_from(["debit_card", "credit_card"]),
    status=st.sampled_from(["posted", "voided"]),
    amount=fen,
)


def devices(rows: list[F.Paid]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in rows:
        if p.device_id is not None:
            out[p.device_id] = min(out.get(p.device_id, p.at), p.at)
    return out


@st.composite
def activities(draw):  # type: ignore[no-untyped-def]
    made = draw(st.lists(paid, max_size=25))
    return F.Activity(
        made,
        draw(st.lists(received, max_size=8)),
        draw(st.lists(received, max_size=8)),
        draw(st.lists(orders, max_size=10)),
        devices(made),
    )


IDENTITY = F.Identity(T0 - 3 * clock.DAY_MICROS, 2, 3)


@given(activities(), times)
def test_rows_after_the_time_change_nothing(activity: F.Activity, at: int) -> None:
    def upto(rows):  # type: ignore[no-untyped-def]
        return [r for r in rows if r.at <= at]

    past = F.Activity(
        upto(activity.paid),
        upto(activity.p2p_in),
        upto(activity.refunds),
        upto(activity.orders),
        devices(upto(activity.paid)),
    )
    assert F.compute(IDENTITY, activity, at) == F.compute(IDENTITY, past, at)


@given(activities(), times)
def test_windows_nest_and_types_match_the_registry(activity: F.Activity, at: int) -> None:
    p = F.compute(IDENTITY, activity, at)
    assert list(p) == list(F.FEATURES)
    assert p["payments_count_7d"] <= p["payments_count_30d"] <= p["payments_count_90d"]
    assert p["payments_amount_7d"] <= p["payments_amount_30d"] <= p["payments_amount_90d"]
    assert p["top_ups_amount_30d"] <= p["top_ups_amount_90d"]
    if p["payments_count_90d"]:
        assert p["payment_amount_mean_90d"] <= p["payment_amount_max_90d"]
    else:
        assert p["payment_amount_mean_90d"] is None and p["payment_amount_max_90d"] is None
    share = p["night_payment_share_30d"]
    assert share is None or Decimal(0) <= share <= Decimal(1)
    assert p["devices_30d"] <= p["payments_count_30d"]
    for name, value in p.items():
        feature = F.FEATURES[name]
        if value is None:
            assert feature.nullable, name
        elif feature.kind == "money":
            assert isinstance(value, Decimal) and value.as_tuple().exponent == -2, name
        elif feature.kind == "ratio":
            assert isinstance(value, Decimal), name
        else:
            assert isinstance(value, int) and not isinstance(value, bool), name
    assert F.from_json(F.to_json(p)) == p


def test_night_is_china_time() -> None:
    hour = 3_600_000_000
    midnight_china = T0 - 9 * hour - hour // 2  # 2026-01-04 16:00 UTC = 01-05 00:00 China
    assert F.is_night(midnight_china) and F.is_night(midnight_china + 5 * hour - 1)
    assert not F.is_night(midnight_china - 1) and not F.is_night(midnight_china + 5 * hour)


def test_registry_names_the_chinese_terms() -> None:
    assert F.FEATURES["tenure_days"].term == "开户时长" and F.is_feature("night_payment_share_30d")
    assert not F.is_feature("no_such_feature")
    assert all(f.description for f in F.FEATURES.values())
