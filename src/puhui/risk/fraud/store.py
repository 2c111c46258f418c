"""Fraud rules, block lists and decisions in the database.

Rules are never updated in place: creating, changing and switching a rule on or off each write a
new version, and the newest version is the current one, so the history of every rule stays
readable and every decision names the rule versions it ran with. A rule is validated before
anything is written, so a bad rule stores nothing.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, delete, func, select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.db.prepared import Prepared, run
from puhui.money import format_minor
from puhui.payments.risk_hook import Decision, PaymentRequest
from puhui.risk.errors import BadBlocklistEntry, MalformedRule, NotOnBlocklist, RuleExists, UnknownRule
from puhui.risk.fraud.engine import RuleSet
from puhui.risk.fraud.models import Rule, default_rules, rule_from, takeover_rule
from puhui.risk.fraud.tables import risk_blocklists, risk_decisions, risk_rules


def _rule(row: Any) -> Rule:
    data = {
        "rule_id": row.rule_id,
        "kind": row.kind,
        "params": json.loads(row.params),
        "action": row.action,
        "enabled": bool(row.enabled),
        "description": row.description,
    }
    return rule_from(data, version=row.version)


class _Generation:
    """Bumped after every committed change of rules or block lists in this process, so a
    `hook.FraudHook` knows to reload (other processes reload on their own schedule)."""

    value = 0

    @classmethod
    def bump(cls) -> None:
        cls.value += 1


def generation() -> int:
    return _Generation.value


def fingerprint(connection: Connection) -> tuple:
    """What changes whenever any process changes a rule or a block list (rules only gain versions;
    block lists gain and lose entries): cheap enough to poll."""
    rules = run(connection, _RULE_COUNT).scalar()
    entries = run(connection, _BLOCKLIST_SUMMARY).first()
    assert entries is not None
    return (int(rules), int(entries[0]), entries[1], int(entries[2] or 0))


# Every worker polls these ten times a second (`FraudHook.catch_up`): built once.
_RULE_COUNT = Prepared(select(func.count()).select_from(risk_rules))
_BLOCKLIST_SUMMARY = Prepared(
    select(func.count(), func.max(risk_blocklists.c.added_at), func.sum(func.length(risk_blocklists.c.value)))
)


def _changed(uow: UnitOfWork) -> None:
    uow.after_commit.append(_Generation.bump)


def _insert(uow: UnitOfWork, rule: Rule, by: str) -> Rule:
    _changed(uow)
    uow.execute(
        risk_rules.insert().values(
            rule_id=rule.rule_id,
            version=rule.version,
            kind=rule.kind.value,
            params=json.dumps(rule.params, sort_keys=True, separators=(",", ":")),
            action=rule.action.value,
            enabled=rule.enabled,
            description=rule.description,
            created_by=by,
            created_at=clock.now_micros(),
        )
    )
    return rule


# -- rules ---------------------------------------------------------------------------------------


def current_rules(connection: Connection) -> list[Rule]:
    """The newest version of every rule, by rule id (switched-off rules included)."""
    newest = (
        select(risk_rules.c.rule_id, func.max(risk_rules.c.version).label("version"))
        .group_by(risk_rules.c.rule_id)
        .subquery()
    )
    rows = connection.execute(
        select(risk_rules)
        .join(newest, (risk_rules.c.rule_id == newest.c.rule_id) & (risk_rules.c.version == newest.c.version))
        .order_by(risk_rules.c.rule_id)
    ).all()
    return [_rule(r) for r in rows]


def current_rule(connection: Connection, rule_id: str) -> Rule:
    row = connection.execute(
        select(risk_rules).where(risk_rules.c.rule_id == rule_id).order_by(risk_rules.c.version.desc()).limit(1)
    ).first()
    if row is None:
        raise UnknownRule(f"no fraud rule {rule_id!r}")
    return _rule(row)


def rule_history(connection: Connection, rule_id: str) -> list[dict[str, Any]]:
    """Every version of a rule, oldest first, with who wrote it and when."""
    rows = connection.execute(
        select(risk_rules).where(risk_rules.c.rule_id == rule_id).order_by(risk_rules.c.version)
    ).all()
    if not rows:
        raise UnknownRule(f"no fraud rule {rule_id!r}")
    return [{**_rule(r).as_json(), "created_by": r.created_by, "created_at": clock.iso(r.created_at)} for r in rows]


def create_rule(uow: UnitOfWork, data: Any, by: str) -> Rule:
    rule = rule_from(data)
    taken = uow.execute(
        select(func.count()).select_from(risk_rules).where(risk_rules.c.rule_id == rule.rule_id)
    ).scalar_one()
    if taken:
        raise RuleExists(f"rule {rule.rule_id!r} exists")
    return _insert(uow, rule, by)


def change_rule(uow: UnitOfWork, rule_id: str, changes: Any, by: str) -> Rule:
    """Write the next version of a rule: its current fields with `changes` applied."""
    if not isinstance(changes, dict):
        raise MalformedRule("a rule change is a JSON object")
    if changes.get("rule_id", rule_id) != rule_id:
        raise MalformedRule("a rule's id cannot change")
    if "version" in changes:
        raise MalformedRule("the version is given by the store")
    current = current_rule(uow.connection, rule_id)
    merged = {**current.as_json(), **changes}
    merged.pop("version")
    if "kind" in changes and changes["kind"] != current.kind.value and "params" not in changes:
        raise MalformedRule("changing a rule's kind needs its new params")
    return _insert(uow, rule_from(merged, version=current.version + 1), by)


def set_enabled(uow: UnitOfWork, rule_id: str, enabled: bool, by: str) -> Rule:
    return change_rule(uow, rule_id, {"enabled": enabled}, by)


def enable_takeover(uow: UnitOfWork, by: str = "system") -> Rule:
    """Switch the account-takeover score on (the cost policy's evidence), storing it first on a platform
    whose rules were seeded before it existed."""
    taken = uow.execute(
        select(func.count()).select_from(risk_rules).where(risk_rules.c.rule_id == "takeover_score")
    ).scalar_one()
    if not taken:
        return _insert(uow, takeover_rule(enabled=True), by)
    current = current_rule(uow.connection, "takeover_score")
    return current if current.enabled else set_enabled(uow, "takeover_score", True, by)


def seed_defaults(uow: UnitOfWork, by: str = "system") -> int:
    """Store `default_rules()` when no rule exists yet; returns how many were written."""
    if uow.execute(select(func.count()).select_from(risk_rules)).scalar_one():
        return 0
    rules = default_rules()
    for rule in rules:
        _insert(uow, rule, by)
    return len(rules)


# -- block lists (黑名单) ------------------------------------------------------------------------


def blocklists(connection: Connection) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for name, value in connection.execute(select(risk_blocklists.c.list_name, risk_blocklists.c.value)):
        found.setdefault(name, set()).add(value)
    return {name: frozenset(values) for name, values in found.items()}


def blocklist(connection: Connection, name: str) -> list[dict[str, Any]]:
    rows = (
        connection.execute(
            select(risk_blocklists).where(risk_blocklists.c.list_name == name).order_by(risk_blocklists.c.value)
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]


def add_to_blocklist(uow: UnitOfWork, name: str, value: str, by: str) -> bool:
    """Put `value` on list `name`; False when it was there already."""
    if not name or not value:
        raise BadBlocklistEntry("give a list name and a value")
    there = uow.execute(
        select(risk_blocklists.c.value).where(risk_blocklists.c.list_name == name, risk_blocklists.c.value == value)
    ).first()
    if there is not None:
        return False
    _changed(uow)
    uow.execute(risk_blocklists.insert().values(list_name=name, value=value, added_by=by, added_at=clock.now_micros()))
    return True


def remove_from_blocklist(uow: UnitOfWork, name: str, value: str) -> None:
    _changed(uow)
    gone = uow.execute(
        delete(risk_blocklists).where(risk_blocklists.c.list_name == name, risk_blocklists.c.value == value)
    )
    if gone.rowcount == 0:
        raise NotOnBlocklist(f"{value!r} is not on list {name!r}")


def load_ruleset(connection: Connection) -> RuleSet:
    """The enabled current rules and the block lists, ready for `engine.decide`."""
    return RuleSet.of(current_rules(connection), blocklists(connection))


# -- decisions -------------------------------------------------------------------------------------


_INSERT_DECISION = Prepared(risk_decisions.insert())  # every payment logs one


def record_decision(
    uow: UnitOfWork,
    request: PaymentRequest,
    decision: Decision,
    score: int | None,
    versions: dict[str, int],
    payment_ref: str | None = None,
) -> None:
    """Log a decision with the versions of the rules it ran (in a group commit, with the job's last writes)."""
    row = {
        "payment_ref": payment_ref,
        "payer_id": request.payer_id,
        "payee_id": request.payee_id,
        "amount": request.amount,
        "outcome": decision.outcome.value,
        "score": score,
        "reasons": json.dumps(list(decision.reasons), ensure_ascii=False),
        "rule_versions": json.dumps(versions, sort_keys=True),
        "at": request.at or clock.now_micros(),
    }
    uow.write(_INSERT_DECISION, row)


def decisions(connection: Connection, payer_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    query = select(risk_decisions).order_by(risk_decisions.c.id.desc()).limit(limit)
    if payer_id is not None:
        query = query.where(risk_decisions.c.payer_id == payer_id)
    rows = connection.execute(query).mappings().all()
    return [
        {
            "id": r["id"],
            "payment_ref": r["payment_ref"],
            "payer_id": r["payer_id"],
            "payee_id": r["payee_id"],
            "amount": format_minor(r["amount"], 2),
            "outcome": r["outcome"],
            "score": r["score"],
            "reasons": json.loads(r["reasons"]),
            "rule_versions": json.loads(r["rule_versions"]),
            "at": clock.iso(r["at"]),
        }
        for r in rows
    ]


def decisions_between(connection: Connection, start: int, end: int) -> list[dict[str, Any]]:
    """Every decision made in [start, end) (UTC microseconds) with its evidence, in the order made:
    payment_ref, amount (fen), outcome, score, reasons (a calibration's and a replay's input)."""
    columns = (
        risk_decisions.c.payment_ref,
        risk_decisions.c.amount,
        risk_decisions.c.outcome,
        risk_decisions.c.score,
        risk_decisions.c.reasons,
    )
    rows = connection.execute(
        select(*columns).where(risk_decisions.c.at >= start, risk_decisions.c.at < end).order_by(risk_decisions.c.id)
    ).mappings()
    return [{**row, "reasons": tuple(json.loads(row["reasons"]))} for row in rows]
