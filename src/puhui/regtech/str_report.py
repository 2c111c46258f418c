"""The suspicious transaction report (可疑交易报告, STR), one per case reported.

A case moves to `reported` only with the investigator's narrative (可疑交易描述); that move builds the
report in the same transaction. Its deadline (报送期限) is the 5th working day after the date the
case was determined suspicious (认定可疑之日, the China date of its escalation), over the same
calendar as the large-value report (`puhui.regtech.reports.deadline`).

The file is one JSON object (UTF-8), `SCHEMA` below as JSON Schema (draft 2020-12), documented
field by field in docs/regtech-reports.md:

- `schema` "puhui.str.v1", `report_id`, `case_id`, `institution` {name, code} (报告机构);
- `subject` (可疑主体): `party_id`, `kind` natural (自然人) | non_natural (非自然人), `name_masked`
  and `id_masked` (the identity service's masks; null when the party is unknown to it) — never
  clear personal information;
- `typologies` (可疑特征): typology, rule code and version, and how many alerts each raised;
- `transactions` (可疑交易): each flow of the alerts' evidence once — ref, position, direction
  (in 收 | out 付), counterparty, amount (CNY decimal string), ISO time (+08:00), the alert ids;
- `total_amount`, `currency`, `detected_on` (the first alert's China date), `determined_on`,
  `deadline`, `narrative` (the investigator's text), `summary` {zh, en} (what the monitor found),
  `generated_by`, `generated_at`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.engine import Connection

from puhui import clock
from puhui.db import UnitOfWork
from puhui.identity import queries as identity_queries
from puhui.identity.models import mask_id_number, mask_name
from puhui.money import format_minor
from puhui.regtech.errors import ReportNotFound
from puhui.regtech.reports import INSTITUTION, deadline, mark_submitted, stored
from puhui.regtech.reports_tables import suspicious_reports
from puhui.regtech.tables import monitor_alerts, monitor_case_events, monitor_cases

KIND = "suspicious"
SCHEMA_ID = "puhui.str.v1"
TYPOLOGY_NAMES = {
    "large_value": ("大额交易", "large-value transactions"),
    "structuring": ("拆分交易规避限额", "structuring just under a threshold"),
    "rapid_in_out": ("快进快出", "rapid in-and-out"),
    "fan_in": ("分散转入集中转出（多对一）", "fan-in (many-to-one)"),
    "fan_out": ("集中转入分散转出（一对多）", "fan-out (one-to-many)"),
    "round_amount": ("整数金额交易", "round amounts"),
    "night_burst": ("夜间频繁交易", "night-time bursts"),
    "dormant": ("长期不动户突然启用", "dormant account suddenly active"),
    "self_financing": ("自融", "self-financing"),
    "loan_layering": ("以贷洗钱", "loan layering"),
    "fund_pool": ("资金池", "fund pool"),
    "shared_device": ("多个账户共用设备", "accounts sharing a device"),
    "mule_chain": ("钱骡账户链", "money-mule chain"),
    "cycle": ("循环转账", "funds going round"),
    "gather_scatter": ("过渡账户（集中转入分散转出）", "pass-through hub (gather-scatter)"),
}
_MONEY = {"type": "string", "pattern": r"^-?\d+\.\d{2}$"}
_DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
_TIME = {"type": "string", "format": "date-time"}
_TEXT = {"type": "string", "minLength": 1}
SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "可疑交易报告 (suspicious transaction report)",
    "type": "object",
    "additionalProperties": False,
    "required": [
        "schema",
        "report_id",
        "case_id",
        "institution",
        "subject",
        "typologies",
        "transactions",
        "total_amount",
        "currency",
        "detected_on",
        "determined_on",
        "deadline",
        "narrative",
        "summary",
        "generated_by",
        "generated_at",
    ],
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "report_id": _TEXT,
        "case_id": _TEXT,
        "institution": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "code"],
            "properties": {"name": _TEXT, "code": _TEXT},
        },
        "subject": {
            "type": "object",
            "additionalProperties": False,
            "required": ["party_id", "kind", "name_masked", "id_masked"],
            "properties": {
                "party_id": _TEXT,
                "kind": {"enum": ["natural", "non_natural"]},
                "name_masked": {"type": ["string", "null"]},
                "id_masked": {"type": ["string", "null"]},
            },
        },
        "typologies": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["typology", "name_zh", "rule_code", "rule_version", "alerts"],
                "properties": {
                    "typology": _TEXT,
                    "name_zh": _TEXT,
                    "rule_code": _TEXT,
                    "rule_version": {"type": "integer", "minimum": 1},
                    "alerts": {"type": "integer", "minimum": 1},
                },
            },
        },
        "transactions": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["ref", "position", "direction", "counterparty", "amount", "currency", "at", "alert_ids"],
                "properties": {
                    "ref": _TEXT,
                    "position": {"type": "integer"},
                    "direction": {"enum": ["in", "out"]},
                    "counterparty": {"type": ["string", "null"]},
                    "amount": _MONEY,
                    "currency": {"const": "CNY"},
                    "at": _TIME,
                    "alert_ids": {"type": "array", "minItems": 1, "items": _TEXT},
                },
            },
        },
        "total_amount": _MONEY,
        "currency": {"const": "CNY"},
        "detected_on": _DATE,
        "determined_on": _DATE,
        "deadline": _DATE,
        "narrative": {"type": "string", "minLength": 20},
        "summary": {
            "type": "object",
            "additionalProperties": False,
            "required": ["zh", "en"],
            "properties": {"zh": _TEXT, "en": _TEXT},
        },
        "generated_by": _TEXT,
        "generated_at": _TIME,
    },
}


def report_id(case_id: str) -> str:
    return "str_" + hashlib.sha256(case_id.encode()).hexdigest()[:28]


def china_time(micros: int) -> str:
    return clock.from_micros(micros).astimezone(clock.CHINA).isoformat()


# -- pure parts ---------------------------------------------------------------------------------


def transactions_of(alerts: Sequence[dict]) -> list[dict]:
    """Each flow of the alerts' evidence once (by position, ref and direction), in time order; amounts fen."""
    found: dict[tuple[int, str, str], dict] = {}
    for alert in alerts:
        for flow in json.loads(alert["evidence"])["flows"]:
            key = (flow["position"], flow["ref"], flow["direction"])
            entry = found.setdefault(key, {**flow, "alert_ids": []})
            if alert["id"] not in entry["alert_ids"]:
                entry["alert_ids"].append(alert["id"])
    return sorted(found.values(), key=lambda f: (f["at"], f["position"], f["ref"], f["direction"]))


def typologies_of(alerts: Sequence[dict]) -> list[dict]:
    counts: dict[tuple[str, str, int], int] = {}
    for a in alerts:
        key = (a["typology"], a["rule_code"], a["rule_version"])
        counts[key] = counts.get(key, 0) + 1
    return [
        {
            "typology": t,
            "name_zh": TYPOLOGY_NAMES.get(t, (t, t))[0],
            "rule_code": code,
            "rule_version": version,
            "alerts": n,
        }
        for (t, code, version), n in sorted(counts.items())
    ]


def summary(
    party: str, alerts: int, typologies: list[dict], flows: int, total: str, detected: dt.date, determined: dt.date
) -> dict:
    """The generated paragraph (zh and en) stating what the monitor found."""
    zh_kinds = "、".join(
        f"{t['name_zh']}（规则 {t['rule_code']} 第{t['rule_version']}版，{t['alerts']}条）" for t in typologies
    )
    en_kinds = "; ".join(
        f"{TYPOLOGY_NAMES.get(t['typology'], (t['typology'],) * 2)[1]} (rule {t['rule_code']} "
        f"v{t['rule_version']}, {t['alerts']} alert{'s' if t['alerts'] > 1 else ''})"
        for t in typologies
    )
    return {
        "zh": (
            f"资金监测系统自{detected.isoformat()}起对主体 {party} 触发预警 {alerts} 条，可疑特征：{zh_kinds}；"
            f"涉及交易 {flows} 笔，合计人民币 {total} 元。经调查于 {determined.isoformat()} 认定为可疑交易。"
        ),
        "en": (
            f"From {detected.isoformat()} the fund-flow monitor raised {alerts} alert{'s' if alerts > 1 else ''} on "
            f"party {party}: {en_kinds}; {flows} transaction{'s' if flows != 1 else ''} totalling CNY {total}. "
            f"The investigation determined them suspicious on {determined.isoformat()}."
        ),
    }


def build(
    rid: str, case_id: str, subject: dict, alerts: Sequence[dict], narrative: str, determined: dt.date, by: str, at: int
) -> dict:
    """The report as a dict matching `SCHEMA`."""
    flows = transactions_of(alerts)
    total = format_minor(sum(f["amount"] for f in flows), 2)
    kinds = typologies_of(alerts)
    detected = clock.china_date(min(a["raised_at"] for a in alerts))
    return {
        "schema": SCHEMA_ID,
        "report_id": rid,
        "case_id": case_id,
        "institution": dict(INSTITUTION),
        "subject": subject,
        "typologies": kinds,
        "transactions": [
            {
                "ref": f["ref"],
                "position": f["position"],
                "direction": f["direction"],
                "counterparty": f["counterparty"],
                "amount": format_minor(f["amount"], 2),
                "currency": "CNY",
                "at": china_time(f["at"]),
                "alert_ids": f["alert_ids"],
            }
            for f in flows
        ],
        "total_amount": total,
        "currency": "CNY",
        "detected_on": detected.isoformat(),
        "determined_on": determined.isoformat(),
        "deadline": deadline(determined).isoformat(),
        "narrative": narrative,
        "summary": summary(subject["party_id"], len(alerts), kinds, len(flows), total, detected, determined),
        "generated_by": by,
        "generated_at": china_time(at),
    }


def render(report: dict) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


# -- storage ------------------------------------------------------------------------------------


def subject_of(connection: Connection, party: str, vault=None) -> dict:
    """Who is reported, masked: a customer (自然人) by masked name and ID number when a vault can open
    them; a merchant (非自然人) by trading name and masked credit code; otherwise the party id alone,
    its kind read from the id (`mch_`/`mer_` merchants)."""
    person = identity_queries.customer_name_and_id(connection, party, vault)
    if person is not None:
        name, id_number = person
        return {
            "party_id": party,
            "kind": "natural",
            "name_masked": mask_name(name) if name else None,
            "id_masked": mask_id_number(id_number) if id_number else None,
        }
    shop = identity_queries.merchant_name_and_code(connection, party)
    if shop is not None:
        return {"party_id": party, "kind": "non_natural", "name_masked": shop[0], "id_masked": mask_id_number(shop[1])}
    kind = "non_natural" if party.startswith(("mch_", "mer_")) else "natural"
    return {"party_id": party, "kind": kind, "name_masked": None, "id_masked": None}


def determined_on(connection: Connection, case_id: str) -> dt.date:
    """The China date of the case's latest escalation (认定可疑之日)."""
    at = connection.execute(
        select(monitor_case_events.c.at)
        .where(monitor_case_events.c.case_id == case_id, monitor_case_events.c.to_status == "escalated")
        .order_by(monitor_case_events.c.seq.desc())
        .limit(1)
    ).scalar()
    if at is None:
        raise ReportNotFound(f"case {case_id} was never escalated")
    return clock.china_date(at)


def generate(uow: UnitOfWork, case_id: str, narrative: str, by: str, vault=None) -> dict:
    """Build and store the case's report; the stored one when the case has one already."""
    connection = uow.connection
    existing = of_case(connection, case_id)
    if existing is not None:
        return existing
    case = connection.execute(select(monitor_cases).where(monitor_cases.c.id == case_id)).mappings().one()
    alerts = [
        dict(a)
        for a in connection.execute(
            select(monitor_alerts)
            .where(monitor_alerts.c.case_id == case_id)
            .order_by(monitor_alerts.c.position, monitor_alerts.c.id)
        ).mappings()
    ]
    subject = subject_of(connection, case["party"], vault)
    rid, now, determined = report_id(case_id), clock.now_micros(), determined_on(connection, case_id)
    report = build(rid, case_id, subject, alerts, narrative, determined, by, now)
    content = render(report)
    row = {
        "id": rid,
        "case_id": case_id,
        "party": case["party"],
        "party_kind": subject["kind"],
        "determined_on": report["determined_on"],
        "deadline": report["deadline"],
        "status": "generated",
        "transactions": len(report["transactions"]),
        "total_amount": sum(f["amount"] for f in transactions_of(alerts)),
        "content": content,
        "sha256": hashlib.sha256(content.encode()).hexdigest(),
        "created_by": by,
        "created_at": now,
        "submitted_by": None,
        "submitted_at": None,
    }
    uow.execute(suspicious_reports.insert().values(**row))
    return report_json(row)


def of_case(connection: Connection, case_id: str) -> dict | None:
    row = (
        connection.execute(select(suspicious_reports).where(suspicious_reports.c.case_id == case_id)).mappings().first()
    )
    return report_json(row) if row is not None else None


def submit(uow: UnitOfWork, rid: str, by: str) -> dict:
    return report_json(mark_submitted(uow, suspicious_reports, rid, by))


def _row(connection: Connection, rid: str) -> dict:
    return stored(connection, suspicious_reports, rid)


def get(connection: Connection, rid: str) -> dict:
    return report_json(_row(connection, rid))


def content_of(connection: Connection, rid: str) -> str:
    return _row(connection, rid)["content"]


def parse(content: str) -> dict:
    return json.loads(content)


def listing(connection: Connection, status: str | None = None, limit: int = 100) -> list[dict]:
    """Reports, earliest deadline first."""
    query = select(suspicious_reports)
    if status is not None:
        query = query.where(suspicious_reports.c.status == status)
    rows = connection.execute(
        query.order_by(suspicious_reports.c.deadline, suspicious_reports.c.id).limit(limit)
    ).mappings()
    return [report_json(r) for r in rows]


def report_json(row) -> dict:
    """A report's metadata; `overdue` when still unsubmitted after its deadline (China business date)."""
    overdue = row["status"] != "submitted" and clock.business_date().isoformat() > row["deadline"]
    at = row["submitted_at"]
    return {
        "id": row["id"],
        "kind": KIND,
        "case_id": row["case_id"],
        "party": row["party"],
        "party_kind": row["party_kind"],
        "determined_on": row["determined_on"],
        "deadline": row["deadline"],
        "status": row["status"],
        "overdue": overdue,
        "transactions": row["transactions"],
        "total_amount": format_minor(row["total_amount"], 2),
        "sha256": row["sha256"],
        "created_by": row["created_by"],
        "created_at": clock.from_micros(row["created_at"]).isoformat(),
        "submitted_by": row["submitted_by"],
        "submitted_at": clock.from_micros(at).isoformat() if at is not None else None,
    }
