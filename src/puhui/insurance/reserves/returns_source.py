"""Return-shipping covers and claims as the reserves read them (退货运费险数据), as of the end of a date.

Policies and claims are only ever added (a policy's status turns `claimed` when its one claim is written),
so the line's figures at the end of date D are a function of the rows created before D's end: the reserve
run books them and a report of D, read any day later, recomputes the same figures (`figures`).

Three reads per date, whatever the number of covers: the covers bought before the last term began, all
fully earned, are only counted and summed; the covers of the last `COVER_DAYS` + 1 days are read one by
one for `return_line` to earn; the claims for the triangle come grouped by order day and paid day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

from puhui import clock
from puhui.insurance.reserves import models, return_line
from puhui.insurance.reserves.lines import LineFigures

EPOCH = dt.date(1970, 1, 1)


def _day_sql(column: str) -> str:
    """The China date of a stored time as days since 1970-01-01 (China has kept UTC+8 since 1991)."""
    origin = clock.day_bounds(EPOCH)[0]
    return f"(({column}) - ({origin})) / {clock.DAY_MICROS}"


def _day(number: Any) -> dt.date:
    return EPOCH + dt.timedelta(days=int(number))


def _where_insurer(insurer_id: str | None) -> str:
    return "" if insurer_id is None else " AND p.insurer_id = :insurer"


def _settled(connection: Connection, params: dict[str, Any], insurer_id: str | None) -> dict[str, tuple[int, int]]:
    sql = f"""SELECT p.insurer_id, count(*), sum(p.premium) FROM return_shipping_policies p
              WHERE p.created_at < :recent{_where_insurer(insurer_id)} GROUP BY p.insurer_id"""
    rows = connection.execute(text(sql), params).all()
    return {str(insurer): (int(n), int(premium or 0)) for insurer, n, premium in rows}


def _recent(
    connection: Connection, params: dict[str, Any], insurer_id: str | None
) -> dict[str, list[return_line.ReturnCover]]:
    sql = f"""SELECT p.insurer_id, p.created_at, p.premium, p.claim_amount, p.return_probability,
                     c.created_at AS claimed_at
              FROM return_shipping_policies p
              LEFT JOIN return_shipping_claims c ON c.policy_id = p.id AND c.created_at < :end
              WHERE p.created_at >= :recent AND p.created_at < :end{_where_insurer(insurer_id)}"""
    found: dict[str, list[return_line.ReturnCover]] = {}
    for row in connection.execute(text(sql), params).mappings():
        claimed = None if row["claimed_at"] is None else clock.china_date(int(row["claimed_at"]))
        cover = return_line.ReturnCover(
            clock.china_date(int(row["created_at"])),
            int(row["premium"]),
            int(row["claim_amount"]),
            Decimal(row["return_probability"]),
            claimed,
        )
        found.setdefault(str(row["insurer_id"]), []).append(cover)
    return found


def _payments(
    connection: Connection, params: dict[str, Any], insurer_id: str | None
) -> dict[str, list[models.Payment]]:
    """The claims paid by the end of the date, summed by insurer, order date and paid date (China dates)."""
    ordered, paid = _day_sql("p.created_at"), _day_sql("c.created_at")
    sql = f"""SELECT p.insurer_id, {ordered} AS ordered, {paid} AS paid, sum(c.amount) AS amount
              FROM return_shipping_claims c JOIN return_shipping_policies p ON p.id = c.policy_id
              WHERE c.created_at < :end{_where_insurer(insurer_id)}
              GROUP BY p.insurer_id, {ordered}, {paid}"""
    found: dict[str, list[models.Payment]] = {}
    for insurer, ordered_on, paid_on, amount in connection.execute(text(sql), params).all():
        payment = models.Payment(_day(ordered_on), _day(paid_on), int(amount))
        found.setdefault(str(insurer), []).append(payment)
    return found


def _params(day: dt.date, insurer_id: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "end": clock.day_bounds(day)[1],
        "recent": clock.day_bounds(day - dt.timedelta(days=return_line.COVER_DAYS))[0],
    }
    if insurer_id is not None:
        params["insurer"] = insurer_id
    return params


def payments_by_insurer(connection: Connection, day: dt.date) -> dict[str, list[models.Payment]]:
    """The line's paid triangle's input at the end of `day`: claims by order date (accident) and paid date."""
    return _payments(connection, _params(day, None), None)


def figures_by_insurer(connection: Connection, day: dt.date, insurer_id: str | None = None) -> dict[str, LineFigures]:
    """The return-shipping line's figures at the end of `day` for every insurer with a cover (or one)."""
    params = _params(day, insurer_id)
    settled = _settled(connection, params, insurer_id)
    recent = _recent(connection, params, insurer_id)
    payments = _payments(connection, params, insurer_id)
    insurers: Iterable[str] = sorted(set(settled) | set(recent))
    return {
        insurer: return_line.line_figures(
            recent.get(insurer, []), day, payments.get(insurer, []), settled.get(insurer, (0, 0))
        )
        for insurer in insurers
    }


def figures(connection: Connection, insurer_id: str, day: dt.date) -> LineFigures:
    """One insurer's return-shipping line at the end of `day` (zeros without a cover)."""
    found = figures_by_insurer(connection, day, insurer_id).get(insurer_id)
    return found if found is not None else return_line.line_figures([], day)
