"""The daily large-value transaction report (大额交易报告), PBOC Order 2016 No. 3.

A report covers one China business date. Every party to a transaction that day (the payer's side
"out", the payee's side "in") whose single transaction or daily cumulation (当日累计) in one
direction reaches the threshold for its kind is reported, one line per transaction of that
cumulation:

- natural person (自然人, a platform customer), transfer: 500,000 CNY;
- non-natural person (非自然人, a merchant), transfer: 2,000,000 CNY;
- cash (现金), any party: 50,000 CNY — the platform handles no cash, so no source yields it today.

Sources: payments (P2P and QR acquiring, the gross amount) and bank-channel orders that posted
(top-up "in", withdrawal "out", the counterparty being the customer's bound card).

The file is CSV (UTF-8, "\\n" line ends), format version 2 (`FORMAT_VERSION`):

1. a metadata header row, the columns of `METADATA_SCHEMA`: `format_version`, `report_kind`, `report_id`,
   `business_date`, `institution_code`, `institution_name` (报告机构), `lines`;
2. one metadata row: `2`, `large_value`, the report's id, the China date covered, the reporting institution
   (`INSTITUTION`) and the number of transaction lines that follow;
3. the transaction header row, the columns of `SCHEMA`;
4. the transaction lines, sorted by party, direction, time and transaction id.

A date is reported only when it has something to report: at least one line (`select_lines`, the one
qualification both `generate` and the deadlines view apply, through `reportable` and `reportable_dates`). A date
whose transactions are all under the thresholds owes no report: generating it is refused with `report_no_data`.
Files stored before that rule may have no line (`lines` 0); such a report reports nothing, so it is owed nothing
(never overdue, not among the reports pending).

So every file names its date and its institution, a file with no line too: two dates' files never have the
same bytes (nor the same SHA-256), and a file cannot be passed off for another date. A reader takes the
first two rows as the metadata and the rest as an ordinary CSV table (pandas: `read_csv(f, nrows=1)` and
`read_csv(f, skiprows=2)`). Format version 1, the files stored before version 2, is the transaction header
row and lines alone (no metadata row: the date is only on the lines, so not in a file without one); stored
files are served as stored, and `parse` / `parse_file` read both versions (`parse_file` tells which).

The deadline (报送期限) is the 5th working day after the date, working days following the State
Council's schedule with its make-up working weekends (调休): `puhui.regtech.working_days` (not the
exchanges' trading calendar, which skips those weekends).

A report's date is a past business date (`puhui.eod.dates`, T+1). Unlike the end-of-day jobs, reports
of earlier dates may follow later ones: each covers its own date and reads no state a report of
another date leaves, and a date missed must still be reported.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass

from sqlalchemy import Table, func, select
from sqlalchemy.engine import Connection

from puhui import clock
from puhui.db import UnitOfWork
from puhui.eod.dates import check_over
from puhui.errors import InvalidInput
from puhui.identity import queries as identity_queries
from puhui.money import format_minor
from puhui.payments import queries as payment_queries
from puhui.regtech.errors import NoDataForDate, ReportAlreadySubmitted, ReportExists, ReportNotFound
from puhui.regtech.reports_tables import regulatory_reports
from puhui.regtech.working_days import add_working_days

KIND = "large_value"
CHINA_OFFSET_MICROS = 8 * 3600 * 1_000_000
EPOCH_DATE = dt.date(1970, 1, 1)
DEADLINE_WORKING_DAYS = 5
# Thresholds in fen: (party type, channel) -> amount.
THRESHOLDS = {
    ("natural", "transfer"): 500_000_00,
    ("non_natural", "transfer"): 2_000_000_00,
    ("natural", "cash"): 50_000_00,
    ("non_natural", "cash"): 50_000_00,
}
# The file's columns (documented schema, 字段说明).
SCHEMA: tuple[tuple[str, str], ...] = (
    ("report_id", "the report's id"),
    ("business_date", "the China date covered, YYYY-MM-DD"),
    ("party_id", "the reported customer or merchant (客户号)"),
    ("party_type", "natural (自然人) | non_natural (非自然人)"),
    ("direction", "out (付) | in (收), from the party's side"),
    ("basis", "single (单笔) when this transaction alone reaches the threshold, else cumulated (当日累计)"),
    ("channel", "transfer (转账) | cash (现金)"),
    ("threshold", "the threshold applied, CNY decimal string"),
    ("day_total", "the party's total that day in that direction and channel, CNY"),
    ("transaction_id", "the payment or bank order id"),
    ("source", "payment | bank_order"),
    ("transaction_kind", "p2p | qr | top_up | withdrawal"),
    ("counterparty_id", "the other side (customer, merchant, or bank_card:<card id>)"),
    ("amount", "the transaction amount, CNY decimal string"),
    ("currency", "CNY"),
    ("occurred_at", "ISO 8601 time in China time (+08:00)"),
)
COLUMNS = tuple(name for name, _ in SCHEMA)
FORMAT_VERSION = 2
# The reporting institution (报告机构), named in both reports' files.
INSTITUTION = {"name": "普惠平台 Puhui Platform", "code": "PUHUI"}
# The file's metadata row (format version 2), before the transaction table.
METADATA_SCHEMA: tuple[tuple[str, str], ...] = (
    ("format_version", "the file's format version: 2 (version 1 has no metadata row)"),
    ("report_kind", "large_value (大额交易报告)"),
    ("report_id", "the report's id"),
    ("business_date", "the China date covered, YYYY-MM-DD"),
    ("institution_code", "the reporting institution's code (报告机构代码)"),
    ("institution_name", "the reporting institution's name (报告机构名称)"),
    ("lines", "how many transaction lines follow the transaction header row"),
)
METADATA_COLUMNS = tuple(name for name, _ in METADATA_SCHEMA)


@dataclass(frozen=True)
class Movement:
    """One side of a transaction as seen from one party."""

    party_id: str
    direction: str
    channel: str
    transaction_id: str
    source: str
    kind: str
    counterparty_id: str
    amount: int
    at: int


def deadline(business_date: dt.date) -> dt.date:
    """The 5th working day after the date (the date itself need not be a working day), 调休 counted."""
    return add_working_days(business_date, DEADLINE_WORKING_DAYS)


def payment_movements(p) -> list[Movement]:
    """A payment's two sides: the payer's "out" and the payee's "in"."""
    return [
        Movement(
            p["payer_id"], "out", "transfer", p["id"], "payment", p["kind"], p["payee_id"], p["amount"], p["created_at"]
        ),
        Movement(
            p["payee_id"], "in", "transfer", p["id"], "payment", p["kind"], p["payer_id"], p["amount"], p["created_at"]
        ),
    ]


def bank_order_movement(b) -> Movement:
    """A posted bank order's one side: a top-up "in", a withdrawal "out", against the customer's bound card."""
    top_up = b["kind"] == "debit_card"
    return Movement(
        b["customer_id"],
        "in" if top_up else "out",
        "transfer",
        b["id"],
        "bank_order",
        "top_up" if top_up else "withdrawal",
        f"bank_card:{b['card_id']}",
        b["amount"],
        b["created_at"],
    )


def movements(connection: Connection, business_date: dt.date) -> list[Movement]:
    """Both sides of every payment and every posted bank order of the date."""
    start, end = clock.day_bounds(business_date)
    out: list[Movement] = []
    for p in payment_queries.payments_between(connection, start, end):
        out.extend(payment_movements(p))
    out.extend(bank_order_movement(b) for b in payment_queries.posted_bank_orders_between(connection, start, end))
    return out


def _day_number(column):
    """The China date of a UTC-microsecond column, as whole days since 1970-01-01 China time (China Standard
    Time is UTC+8 all year, no daylight saving since 1991)."""
    return (column + CHINA_OFFSET_MICROS) // clock.DAY_MICROS


def reportable_dates(connection: Connection, first: dt.date, last: dt.date) -> set[dt.date]:
    """The China dates in [first, last] with something to report: at least one line `select_lines` (the one
    qualification, the same `generate` applies) selects among the date's movements. A date without is refused
    by `generate` with `report_no_data`, and owes no report.

    A fixed handful of queries whatever the range: the payments' total per date (grouped), the range's posted
    bank orders, then, only for the dates whose payments and bank orders together reach the lowest threshold
    (a party's cumulation in one direction never exceeds the date's whole volume, so no other date can have a
    line), those dates' payments and their parties' kinds."""
    start, end = clock.day_bounds(first)[0], clock.day_bounds(last)[1]
    made = payment_queries.payments_made(after=start - 1, until=end - 1)  # (after, until]: [start, end)
    # Grouped over a subquery's column (PostgreSQL would not match an expression with bound parameters in the
    # GROUP BY to the same one in the SELECT).
    days = select(_day_number(made.c.created_at).label("day"), made.c.amount).subquery("days")
    volume: dict[int, int] = {
        int(n): int(total)
        for n, total in connection.execute(select(days.c.day, func.sum(days.c.amount)).group_by(days.c.day))
    }
    bank: dict[int, list[Movement]] = {}
    for b in payment_queries.posted_bank_orders_between(connection, start, end):
        n = (clock.china_date(b["created_at"]) - EPOCH_DATE).days
        bank.setdefault(n, []).append(bank_order_movement(b))
        volume[n] = volume.get(n, 0) + int(b["amount"])
    lowest = min(THRESHOLDS.values())
    candidates = sorted(n for n, total in volume.items() if total >= lowest)
    if not candidates:
        return set()
    moves: dict[int, list[Movement]] = {n: list(bank.get(n, [])) for n in candidates}
    rows = connection.execute(
        select(made).where(_day_number(made.c.created_at).in_(candidates)).order_by(made.c.created_at, made.c.id)
    ).mappings()
    for p in rows:
        moves[(clock.china_date(p["created_at"]) - EPOCH_DATE).days].extend(payment_movements(p))
    types = party_types(connection, {m.party_id for group in moves.values() for m in group})
    found = {EPOCH_DATE + dt.timedelta(days=n) for n, group in moves.items() if select_lines(group, types)}
    return {d for d in found if first <= d <= last}


def reportable(connection: Connection, business_date: dt.date) -> tuple[list[tuple[Movement, str, int, int]], dict]:
    """The date's report lines (`select_lines` over its movements) and the kinds of its parties."""
    moves = movements(connection, business_date)
    types = party_types(connection, {m.party_id for m in moves})
    return select_lines(moves, types), types


def party_types(connection: Connection, ids: set[str]) -> dict[str, str]:
    """natural for customers, non_natural for merchants; parties of neither kind are left out."""
    return identity_queries.party_types(connection, ids)


def select_lines(moves: list[Movement], types: dict[str, str]) -> list[tuple[Movement, str, int, int]]:
    """(movement, basis, threshold, day total) for each reportable movement; pure."""
    groups: dict[tuple[str, str, str], list[Movement]] = {}
    for m in moves:
        if m.party_id in types:
            groups.setdefault((m.party_id, m.direction, m.channel), []).append(m)
    lines = []
    for (party, _, channel), group in sorted(groups.items()):
        limit = THRESHOLDS[(types[party], channel)]
        total = sum(m.amount for m in group)
        if total < limit:
            continue
        for m in sorted(group, key=lambda m: (m.at, m.transaction_id)):
            lines.append((m, "single" if m.amount >= limit else "cumulated", limit, total))
    return lines


def render(report_id: str, business_date: dt.date, lines, types: dict[str, str]) -> str:
    """The file, format version 2: the metadata header and row, then the transaction header and lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(METADATA_COLUMNS)
    writer.writerow(
        [
            FORMAT_VERSION,
            KIND,
            report_id,
            business_date.isoformat(),
            INSTITUTION["code"],
            INSTITUTION["name"],
            len(lines),
        ]
    )
    writer.writerow(COLUMNS)
    for m, basis, limit, total in lines:
        writer.writerow(
            [
                report_id,
                business_date.isoformat(),
                m.party_id,
                types[m.party_id],
                m.direction,
                basis,
                m.channel,
                format_minor(limit, 2),
                format_minor(total, 2),
                m.transaction_id,
                m.source,
                m.kind,
                m.counterparty_id,
                format_minor(m.amount, 2),
                "CNY",
                clock.from_micros(m.at).astimezone(clock.CHINA).isoformat(),
            ]
        )
    return buffer.getvalue()


def parse(content: str) -> list[dict]:
    """The file's transaction lines as dicts, of either format version (raises InvalidInput when the file is
    not a large-value report; see `parse_file`)."""
    return parse_file(content)[1]


def parse_file(content: str) -> tuple[dict, list[dict]]:
    """(metadata, transaction lines) of a file of either format version. Version 2's metadata is its metadata
    row (`lines` an int), checked against the lines: their count, and each line's report id and date.
    Version 1 has no metadata row: its metadata is `format_version` 1 and, when it has a line, the lines'
    `report_id` and `business_date` (None without one). Raises InvalidInput when the file is neither."""
    rows = [row for row in csv.reader(io.StringIO(content, newline="")) if row]
    if rows and tuple(rows[0]) == COLUMNS:
        lines = _lines(rows[1:])
        first = lines[0] if lines else {}
        return {
            "format_version": 1,
            "report_id": first.get("report_id"),
            "business_date": first.get("business_date"),
        }, lines
    if len(rows) < 3 or tuple(rows[0]) != METADATA_COLUMNS or len(rows[1]) != len(METADATA_COLUMNS):
        raise InvalidInput("the file's header is not the large-value report schema")
    meta: dict = dict(zip(METADATA_COLUMNS, rows[1], strict=True))
    if meta["format_version"] != str(FORMAT_VERSION) or meta["report_kind"] != KIND:
        raise InvalidInput(f"not a large-value report of format version {FORMAT_VERSION}")
    if tuple(rows[2]) != COLUMNS:
        raise InvalidInput("the file's transaction header is not the large-value report schema")
    lines = _lines(rows[3:])
    if not meta["lines"].isdigit() or int(meta["lines"]) != len(lines):
        raise InvalidInput(f"the file says {meta['lines']} lines and has {len(lines)}")
    if any((line["report_id"], line["business_date"]) != (meta["report_id"], meta["business_date"]) for line in lines):
        raise InvalidInput("a line's report id or date is not the file's")
    meta["format_version"], meta["lines"] = FORMAT_VERSION, int(meta["lines"])
    return meta, lines


def _lines(rows: list[list[str]]) -> list[dict]:
    if any(len(row) != len(COLUMNS) for row in rows):
        raise InvalidInput("a line of the file does not have the large-value report's columns")
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]


def report_id(business_date: dt.date) -> str:
    return f"rpt_lv_{business_date:%Y%m%d}"


def generate(uow: UnitOfWork, business_date: dt.date, by: str) -> dict:
    """Build and store the date's report; refused with `report_no_data` for a date with nothing to report (no
    transaction reaching the thresholds, alone or cumulated: `select_lines` selects no line, so no report is
    owed) and with `report_exists` for one already reported."""
    check_over(business_date)  # a report covers a business date that is over
    connection = uow.connection
    lines, types = reportable(connection, business_date)
    if not lines:
        raise NoDataForDate(
            f"nothing to report on {business_date}: no transaction reaches the large-value thresholds"
            " (no report is owed for that date)"
        )
    rid = report_id(business_date)
    if connection.execute(select(regulatory_reports.c.id).where(regulatory_reports.c.id == rid)).first():
        raise ReportExists(f"the large-value report for {business_date} exists ({rid})")
    content = render(rid, business_date, lines, types)
    row = {
        "id": rid,
        "kind": KIND,
        "business_date": business_date.isoformat(),
        "deadline": deadline(business_date).isoformat(),
        "status": "generated",
        "lines": len(lines),
        "content": content,
        "sha256": hashlib.sha256(content.encode()).hexdigest(),
        "created_by": by,
        "created_at": clock.now_micros(),
        "submitted_by": None,
        "submitted_at": None,
    }
    uow.execute(regulatory_reports.insert().values(**row))
    return report_json(row)


def submit(uow: UnitOfWork, rid: str, by: str) -> dict:
    return report_json(mark_submitted(uow, regulatory_reports, rid, by))


def stored(connection: Connection, table: Table, rid: str) -> dict:
    """A report's row, of either kind's table."""
    row = connection.execute(select(table).where(table.c.id == rid)).mappings().first()
    if row is None:
        raise ReportNotFound(f"no report {rid}")
    return dict(row)


def mark_submitted(uow: UnitOfWork, table: Table, rid: str, by: str) -> dict:
    """报送: generated → submitted, once; guarded on the status so two submissions cannot both win."""
    row = stored(uow.connection, table, rid)
    if row["status"] == "submitted":
        raise ReportAlreadySubmitted(f"report {rid} was submitted already")
    values = {"status": "submitted", "submitted_by": by, "submitted_at": clock.now_micros()}
    done = uow.execute(table.update().where(table.c.id == rid, table.c.status == "generated").values(**values))
    if done.rowcount != 1:
        raise ReportAlreadySubmitted(f"report {rid} was submitted meanwhile")
    return {**row, **values}


def _row(connection: Connection, rid: str) -> dict:
    return stored(connection, regulatory_reports, rid)


def get(connection: Connection, rid: str) -> dict:
    return report_json(_row(connection, rid))


def content_of(connection: Connection, rid: str) -> str:
    return _row(connection, rid)["content"]


def owed(row) -> bool:
    """Whether a stored report is still owed: not submitted, and reporting something (a report stored with no
    line, before such dates were refused, reports nothing and is owed nothing)."""
    return row["status"] != "submitted" and row["lines"] > 0


def report_json(row) -> dict:
    """A report's metadata; `overdue` when still owed (`owed`) after its deadline (China business date)."""
    overdue = owed(row) and clock.business_date().isoformat() > row["deadline"]
    at = row["submitted_at"]
    return {
        "id": row["id"],
        "kind": row["kind"],
        "business_date": row["business_date"],
        "deadline": row["deadline"],
        "status": row["status"],
        "overdue": overdue,
        "lines": row["lines"],
        "sha256": row["sha256"],
        "created_by": row["created_by"],
        "created_at": clock.from_micros(row["created_at"]).isoformat(),
        "submitted_by": row["submitted_by"],
        "submitted_at": clock.from_micros(at).isoformat() if at is not None else None,
    }
