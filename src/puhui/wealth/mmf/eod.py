"""`puhui wealth eod --date D`: the money-market funds' end of day, idempotent per (fund, date).

Per fund, in one unit of work: record the manager's 万份收益 for D (and the 七日年化 when the
six days before it are known), confirm subscriptions due by D (their units earn D's income),
distribute D's income to every holder, settle normal redemptions due by D, and write the run row.
A second run for the same fund and date finds the row and changes nothing. Which dates may run
is the rule of every end of day (`puhui.eod.runs`): only dates that are over, none skipped before the
last run, and a gap day by day, so no day's income is lost.

A date the job has completed (`puhui.eod.runs` sends it here once more for its idempotent answer)
runs no fund: the answer is the fund-days that ran then (`already_done`), and a fund without a run
row for it (created after it) gets none, for D's income would go to today's holders and orders
would confirm and settle as of D. Nor does a fund ever run a date before its own latest run. A date
not yet completed runs every fund without a row for it (a run that committed some funds and
crashed before the date was recorded runs the others).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from functools import partial

from sqlalchemy import Connection, Engine, func, select

from puhui import clock
from puhui.db import UnitOfWork, reading, transaction
from puhui.eod import answers
from puhui.eod import runs as eod_runs
from puhui.money import InvalidAmount, format_minor, to_decimal
from puhui.wealth import units as funds
from puhui.wealth.errors import InvalidFigures
from puhui.wealth.mmf import distribution, yields
from puhui.wealth.mmf import service as mmf
from puhui.wealth.mmf.manager import FundManager, SimulatedManager
from puhui.wealth.mmf.tables import mmf_daily, mmf_eod_runs, mmf_funds

JOB = "wealth.mmf"  # its dates in `eod_runs`
MAX_PER_10K = Decimal(10)  # 10 yuan per 10,000 units a day is ~44% a year: a wrong file, not a fund
MINOR_FIELDS = ("units", "paid", "distributed", "residue")  # fund units and income, in hundredths


def check_figure(fund_code: str, day: dt.date, value: Decimal | str) -> int:
    """A manager's income per 10,000 units as 1/10000 yuan; negative or absurd values are refused."""
    try:
        r = to_decimal(value if not isinstance(value, Decimal) else str(value))
    except (InvalidAmount, ValueError) as error:
        raise InvalidFigures(f"{fund_code} {day}: {error}") from None
    if r < 0:
        raise InvalidFigures(f"{fund_code} {day}: income per 10,000 units {r} is negative")
    if r > MAX_PER_10K:  # checked before scaling: 1e999999 would overflow the decimal context
        raise InvalidFigures(f"{fund_code} {day}: income per 10,000 units {r} is implausibly high")
    try:
        return yields.r_units(r)
    except ValueError as error:
        raise InvalidFigures(f"{fund_code} {day}: {error}") from None


def record_figure(uow: UnitOfWork, fund_code: str, day: dt.date, r_e4: int) -> dict:
    """Store D's 万份收益 and its 七日年化 (once; the same figure again is a no-op, another is refused)."""
    funds.get_fund(uow.connection, fund_code)
    key = (mmf_daily.c.fund_code == fund_code, mmf_daily.c.business_date == day.isoformat())
    row = uow.execute(select(mmf_daily).where(*key)).mappings().first()
    if row is not None:
        if row["income_per_10k"] != r_e4:
            raise InvalidFigures(
                f"{fund_code} {day} already has income per 10,000 units {Decimal(row['income_per_10k']).scaleb(-4)}"
            )
        return dict(row)
    week = [(day - dt.timedelta(days=i)).isoformat() for i in range(1, 7)]
    earlier = {
        d: v
        for d, v in uow.execute(
            select(mmf_daily.c.business_date, mmf_daily.c.income_per_10k).where(
                mmf_daily.c.fund_code == fund_code, mmf_daily.c.business_date.in_(week)
            )
        )
    }
    seven = None
    if len(earlier) == 6:
        rs = [Decimal(r_e4).scaleb(-4)] + [Decimal(earlier[d]).scaleb(-4) for d in week]
        seven = str(yields.seven_day_annualized(rs))
    row = {
        "fund_code": fund_code,
        "business_date": day.isoformat(),
        "income_per_10k": r_e4,
        "seven_day_yield": seven,
        "recorded_at": clock.now_micros(),
    }
    uow.execute(mmf_daily.insert().values(**row))
    return row


def _lines(reader: csv.DictReader):
    try:
        yield from reader
    except csv.Error as error:
        raise InvalidFigures(f"line {reader.line_num}: {error}") from None


def parse_figures_file(content: str, known: set[str]) -> list[tuple[str, dt.date, int]]:
    """A manager's CSV (fund_code,date,income_per_10k): every row checked before any is used."""
    rows = []
    reader = csv.DictReader(io.StringIO(content, newline=""))  # \r, \r\n and \n all end a line
    try:
        fields = reader.fieldnames
    except csv.Error as error:
        raise InvalidFigures(f"line 1: {error}") from None
    if fields is None or not {"fund_code", "date", "income_per_10k"} <= set(fields):
        raise InvalidFigures("the file needs the columns fund_code,date,income_per_10k")
    for n, line in enumerate(_lines(reader), start=2):
        code = (line["fund_code"] or "").strip()
        if code not in known:
            raise InvalidFigures(f"line {n}: unknown fund {code!r}")
        try:
            day = dt.date.fromisoformat((line["date"] or "").strip())
        except ValueError:
            raise InvalidFigures(f"line {n}: {line['date']!r} is not a date (YYYY-MM-DD)") from None
        rows.append((code, day, check_figure(code, day, (line["income_per_10k"] or "").strip())))
    return rows


def load_figures(uow: UnitOfWork, content: str) -> int:
    """Load a figures file in one unit of work: all rows or none."""
    known = {r[0] for r in uow.execute(select(mmf_funds.c.code))}
    rows = parse_figures_file(content, known)
    for code, day, r_e4 in sorted(rows, key=lambda r: (r[0], r[1])):
        record_figure(uow, code, day, r_e4)
    return len(rows)


def ran_on(connection: Connection, day: dt.date) -> list[dict]:
    """The fund-days that ran for `day`, by fund code, as a second run answers them (`already_done`)."""
    rows = connection.execute(
        select(mmf_eod_runs.c.summary)
        .where(mmf_eod_runs.c.business_date == day.isoformat())
        .order_by(mmf_eod_runs.c.fund_code)
    )
    return [{**answers.stored(summary), "already_done": True} for (summary,) in rows]


def latest_run(connection: Connection, fund_code: str) -> dt.date | None:
    """The last date a fund's end of day ran: its holders' income and its orders are at that day."""
    last = connection.execute(
        select(func.max(mmf_eod_runs.c.business_date)).where(mmf_eod_runs.c.fund_code == fund_code)
    ).scalar_one()
    return dt.date.fromisoformat(last) if last else None


def run_fund_day(uow: UnitOfWork, fund_code: str, day: dt.date, manager: FundManager) -> dict | None:
    """D for one fund: its summary (`already_done` when its row was there), or None when the fund has
    run a later date (D is behind it: its income and orders would move as of a day already past)."""
    done = uow.execute(
        select(mmf_eod_runs.c.summary).where(
            mmf_eod_runs.c.fund_code == fund_code, mmf_eod_runs.c.business_date == day.isoformat()
        )
    ).first()
    if done is not None:
        return {**answers.stored(done[0]), "already_done": True}
    funds.lock_units(uow, fund_code)  # first, as orders do: one lock order
    last = latest_run(uow.connection, fund_code)  # under the lock: a run of the fund commits or waits
    if last is not None and last > day:
        return None
    existing = uow.execute(
        select(mmf_daily.c.income_per_10k).where(
            mmf_daily.c.fund_code == fund_code, mmf_daily.c.business_date == day.isoformat()
        )
    ).first()
    r_e4 = existing[0] if existing else check_figure(fund_code, day, manager.income_per_10k(fund_code, day))
    figure = record_figure(uow, fund_code, day, r_e4)
    confirmed = mmf.confirm_due(uow, fund_code, day)
    income = distribution.distribute(uow, fund_code, day, r_e4)
    settled = mmf.settle_due(uow, fund_code, day)
    uow.execute(
        mmf_daily.update()
        .where(mmf_daily.c.fund_code == fund_code, mmf_daily.c.business_date == day.isoformat())
        .values(
            holders=income.holders,
            units=income.units,
            distributed=income.distributed,
            residue=income.residue,
            distributed_at=clock.now_micros(),
        )
    )
    summary = {
        "fund_code": fund_code,
        "business_date": day.isoformat(),
        "income_per_10k": str(Decimal(r_e4).scaleb(-4)),
        "seven_day_yield": figure["seven_day_yield"],
        "confirmed": confirmed,
        "settled": settled,
        **income.as_json(),
    }
    uow.execute(
        mmf_eod_runs.insert().values(
            fund_code=fund_code,
            business_date=day.isoformat(),
            summary=json.dumps(summary),
            finished_at=clock.now_micros(),
        )
    )
    return {**summary, "already_done": False}


def run_funds_in(uow: UnitOfWork, day: dt.date, manager: FundManager) -> list[dict]:
    """D for every fund in one unit of work (the API), D not yet completed by the job."""
    codes = [r[0] for r in uow.execute(select(mmf_funds.c.code).order_by(mmf_funds.c.code))]
    return [run for code in codes if (run := run_fund_day(uow, code, day, manager)) is not None]


def run_eod(engine: Engine, day: dt.date, manager: FundManager | None = None) -> list[dict]:
    """The end of day for every fund (one transaction each) under the rule of every end of day
    (`puhui.eod.runs`): D over and not skipped before the last run; the days of a gap run
    first, in order, so every day's income is distributed. The fund-days run, in date order; a
    completed date runs no fund and answers the fund-days that ran then."""
    manager = manager or SimulatedManager()

    def step(date: dt.date) -> list[dict]:
        with reading(engine) as connection:
            # `run_days` records a date after its step: completed now, it was before (sent here once
            # more for its answer), or a concurrent run of it has just finished every fund.
            if eod_runs.completed(connection, JOB, date):
                return ran_on(connection, date)
            codes = [r[0] for r in connection.execute(select(mmf_funds.c.code).order_by(mmf_funds.c.code))]
        ran = [transaction(engine, partial(run_fund_day, fund_code=code, day=date, manager=manager)) for code in codes]
        return [run for run in ran if run is not None]

    done = eod_runs.run_days(engine, JOB, day, step)
    return [run for _, runs in done.results for run in runs]


def run_eod_in(uow: UnitOfWork, day: dt.date, manager: FundManager | None = None) -> list[dict]:
    """The same in the caller's unit of work (the API): every day of a gap commits, or none."""
    manager = manager or SimulatedManager()
    # `run_in` records a date before its step: whether D was completed is read before it plans
    # (only D itself can be: a completed date is planned alone).
    again = eod_runs.completed(uow.connection, JOB, day)

    def step(u: UnitOfWork, date: dt.date) -> list[dict]:
        return ran_on(u.connection, date) if again else run_funds_in(u, date, manager)

    done = eod_runs.run_in(uow, JOB, day, step)
    return [run for _, runs in done.results for run in runs]


def run_json(run: dict) -> dict:
    """A fund-day's summary as every answer shows it (`POST /v1/wealth/eod`, `puhui eod`, `puhui wealth
    eod`): its units and income as decimal strings, like every amount on the wire, never fen integers."""
    return {k: format_minor(v, 2) if k in MINOR_FIELDS and isinstance(v, int) else v for k, v in run.items()}


def runs_json(runs: list[dict]) -> list[dict]:
    """The fund-days of `run_eod` / `run_eod_in` as `run_json` shows each."""
    return [run_json(run) for run in runs]
