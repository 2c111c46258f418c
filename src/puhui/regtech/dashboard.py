"""Supervision dashboard data (监管数据看板) for the regulator: the platform's figures over a range
of China business dates, each risk indicator with its early-warning threshold (预警阈值) and a flag.

- flows by business form over [from, to]: payments, lending disbursements (放款) and repayments
  (还款), wealth subscriptions (申购) and redemptions (赎回; money-market fund and distributed
  funds), supply-chain financing (融资, by receivable face);
- reserve coverage (备付金覆盖率) = reserve ÷ wallet balances, now; warn below 1;
- the loan book (`outstanding_principal`): the principal still owed, as of now, on the loans disbursed
  by `to` (a loan disbursed after the range is not counted), each loan's figure the loan book's own
  (`lending.queries.outstanding_by_loan`: the ledger's principal receivable, net of repayments, refunds
  of pay-later purchases and write-offs). It is "as of now", labelled so (`outstanding_basis`): the
  lending tables do not record when a loan was written off nor its past delinquency buckets, so the
  balance at the end of an earlier `to` cannot be told; repayments made after `to` are deducted;
- overdue rates (逾期率) over that outstanding principal, by the loans' buckets now: M1+ (any days past
  due) and M3+ (over 90 days, the lending bucket "M3+");
- concentration (集中度): the top-10 borrowers' share of that outstanding principal, and the top-10
  merchants' share of payment volume over the range;
- fast-redemption liquidity (T+0 快速赎回流动性): the peak day's T+0 redemptions in the range ÷ the
  money-market funds' portfolio balance (the cash that pays them), now;
- reports owed (`pending_reports`), now, as the deadlines view classifies them: a large-value date with
  nothing to report is owed nothing, one missing (never generated) is pending and overdue after its deadline.

Ratios are decimal strings rounded to 6 places; money is CNY decimal strings.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from puhui.clock import day_bounds
from puhui.ledger import queries as ledger_queries
from puhui.lending import queries as lending_queries
from puhui.money import format_minor
from puhui.payments import queries as payment_queries
from puhui.payments.reserve import reserve_coverage
from puhui.regtech.errors import InvalidRange
from puhui.regtech.tables import monitor_alerts, monitor_cases
from puhui.supplychain import queries as supplychain_queries
from puhui.wealth import queries as wealth_queries

MAX_RANGE_DAYS = 366
TOP_N = 10
# name -> (comparison, threshold): the flag is raised when `value <op> threshold`.
THRESHOLDS: dict[str, tuple[str, Decimal]] = {
    "reserve_coverage": ("<", Decimal(1)),
    "overdue_m1_plus": (">", Decimal("0.05")),
    "overdue_m3_plus": (">", Decimal("0.02")),
    "top10_borrowers_share": (">", Decimal("0.5")),
    "top10_merchants_share": (">", Decimal("0.5")),
    "fast_redemption_liquidity": (">", Decimal("0.2")),
}


CLOSED_CASES = ("closed_false_positive", "reported")


def ratio(part: int, whole: int) -> Decimal | None:
    if whole == 0:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def indicator(name: str, value: Decimal | None, **figures: object) -> dict:
    """A figure with its threshold and whether it breaches it (no value, no breach)."""
    op, limit = THRESHOLDS[name]
    breach = value is not None and (value < limit if op == "<" else value > limit)
    return {"value": None if value is None else str(value), "warn_if": f"{op} {limit}", "breach": breach, **figures}


def _money(fen: int) -> str:
    return format_minor(int(fen), 2)


def _flow(count_and_total: tuple[int, int]) -> dict:
    count, total = count_and_total
    return {"count": count, "amount": _money(total)}


def flows(connection: Connection, start: int, end: int, first: dt.date, last: dt.date) -> dict:
    return {
        "payments": _flow(payment_queries.volume_between(connection, start, end)),
        "lending_disbursements": _flow(lending_queries.disbursed(connection, first, last)),
        "lending_repayments": _flow(lending_queries.repaid(connection, first, last)),
        "mmf_subscriptions": _flow(wealth_queries.mmf_flow(connection, start, end, ["subscribe"])),
        "mmf_redemptions": _flow(wealth_queries.mmf_flow(connection, start, end, ["redeem", "fast_redeem"])),
        "fund_purchases": _flow(wealth_queries.fund_flow(connection, start, end, "purchase")),
        "fund_redemptions": _flow(wealth_queries.fund_flow(connection, start, end, "redeem")),
        "supply_chain_financing": _flow(supplychain_queries.financed(connection, start, end)),
    }


def outstanding_basis(disbursed_by: dt.date | None) -> str:
    """What the loan book's figures are: the balances now, of the loans disbursed by `disbursed_by`."""
    return "as of now" if disbursed_by is None else f"as of now, loans disbursed by {disbursed_by.isoformat()}"


def overdue_and_borrowers(connection: Connection, disbursed_by: dt.date | None = None) -> dict:
    """Outstanding principal, overdue rates and borrower concentration over the loan book now, of the
    loans disbursed by `disbursed_by` (every active loan when None)."""
    book = lending_queries.outstanding_by_loan(connection, disbursed_by)
    total = sum(o for _, _, o in book)
    m1 = sum(o for _, bucket, o in book if bucket != "current")
    m3_plus = sum(o for _, bucket, o in book if bucket == "M3+")  # over 90 days; the book's M3 is 61–90
    per_borrower: dict[str, int] = defaultdict(int)
    for customer, _, o in book:
        per_borrower[customer] += o
    top = sorted(per_borrower.values(), reverse=True)[:TOP_N]
    return {
        "outstanding_principal": _money(total),
        "outstanding_basis": outstanding_basis(disbursed_by),
        "overdue_m1_plus": indicator("overdue_m1_plus", ratio(m1, total), overdue_principal=_money(m1)),
        "overdue_m3_plus": indicator("overdue_m3_plus", ratio(m3_plus, total), overdue_principal=_money(m3_plus)),
        "top10_borrowers_share": indicator(
            "top10_borrowers_share", ratio(sum(top), total), borrowers=len(per_borrower), top_principal=_money(sum(top))
        ),
    }


def merchant_concentration(connection: Connection, start: int, end: int) -> dict:
    _, total = payment_queries.volume_between(connection, start, end)
    per = payment_queries.volume_by_payee(connection, start, end, kind="qr")  # QR payments go to merchants
    top = sum(sorted(per.values(), reverse=True)[:TOP_N])
    return indicator("top10_merchants_share", ratio(top, total), merchants=len(per), top_volume=_money(top))


def fast_redemption(connection: Connection, first: dt.date, last: dt.date) -> dict:
    rows = wealth_queries.fast_redemptions(connection, first, last)
    peak_day, peak = max(((d, int(v)) for d, v in rows), key=lambda r: (r[1], r[0]), default=(None, 0))
    cash = ledger_queries.net_debit(connection, codes=["fund_portfolio"], ledger="CNY")
    value = ratio(peak, int(cash)) if peak else Decimal(0)
    return indicator(
        "fast_redemption_liquidity",
        value,
        peak_day=peak_day,
        peak_t0_redemptions=_money(peak),
        fund_cash=_money(cash),
        t0_redemptions=_money(sum(int(v) for _, v in rows)),
    )


def reserve(connection: Connection) -> dict:
    c = reserve_coverage(connection)
    return indicator("reserve_coverage", ratio(c.reserve, c.owed), reserve=_money(c.reserve), wallets=_money(c.owed))


def alerts_by_typology(connection: Connection, start: int, end: int) -> dict:
    """The monitor's alerts on the range's activity (by the time of the event that raised them, so a
    monitor catching up later still counts them on their day), by typology, and the cases still open."""
    rows = connection.execute(
        select(monitor_alerts.c.typology, func.count())
        .where(monitor_alerts.c.event_at >= start, monitor_alerts.c.event_at < end)
        .group_by(monitor_alerts.c.typology)
    ).all()
    open_cases = connection.execute(
        select(func.count()).select_from(monitor_cases).where(monitor_cases.c.status.notin_(CLOSED_CASES))
    ).scalar_one()
    return {
        "by_typology": {t: int(n) for t, n in sorted(rows)},
        "total": sum(int(n) for _, n in rows),
        "open_cases": int(open_cases),
    }


def pending_reports(connection: Connection) -> dict:
    """The reports still owed (大额 and 可疑), classified as the deadlines view (`report_index.deadlines_json`):
    the generated reports not yet submitted, and the large-value dates `missing` (transactions, no report
    generated); a date with nothing to report (`nothing_to_report`) is owed nothing, so never pending nor
    overdue. `pending` counts both; `overdue` the overdue generated reports by id, `missing_overdue` the
    missing dates past their deadline, `overdue_count` both; `next_deadline` the earliest deadline not yet
    passed (today's or later: an overdue one is counted in `overdue_count`, not shown as "next"), None when
    every report owed is overdue or none is; `large_value_days` the deadlines view's counts of dates per
    status."""
    from puhui.regtech.report_index import deadlines_json

    view = deadlines_json(connection)
    generated, coverage = view["reports"], view["large_value_days"]
    missing = [d for d in coverage["days"] if d["status"] == "missing"]
    overdue = [r["id"] for r in generated if r["overdue"]]
    missing_overdue = [d["business_date"] for d in missing if d["overdue"]]
    return {
        "pending": len(generated) + len(missing),
        "overdue": overdue,
        "missing_overdue": missing_overdue,
        "overdue_count": len(overdue) + len(missing_overdue),
        "next_deadline": min((x["deadline"] for x in (*generated, *missing) if not x["overdue"]), default=None),
        "large_value_days": coverage["counts"],
    }


def dashboard(connection: Connection, first: dt.date, last: dt.date) -> dict:
    """The dashboard over the China business dates [first, last]."""
    if last < first:
        raise InvalidRange(f"the range ends ({last}) before it starts ({first})")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise InvalidRange(f"a range covers at most {MAX_RANGE_DAYS} days")
    start, end = day_bounds(first)[0], day_bounds(last)[1]
    lending = overdue_and_borrowers(connection, last)
    reports = pending_reports(connection)
    indicators = {
        "reserve_coverage": reserve(connection),
        "overdue_m1_plus": lending.pop("overdue_m1_plus"),
        "overdue_m3_plus": lending.pop("overdue_m3_plus"),
        "top10_borrowers_share": lending.pop("top10_borrowers_share"),
        "top10_merchants_share": merchant_concentration(connection, start, end),
        "fast_redemption_liquidity": fast_redemption(connection, first, last),
    }
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "flows": flows(connection, start, end, first, last),
        "outstanding_principal": lending["outstanding_principal"],
        "outstanding_basis": lending["outstanding_basis"],
        "indicators": indicators,
        "alerts": alerts_by_typology(connection, start, end),
        "reports": reports,
        "warnings": sorted(
            [name for name, figure in indicators.items() if figure["breach"]]
            + (["reports_overdue"] if reports["overdue_count"] else [])
        ),
    }
