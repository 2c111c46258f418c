"""Cases (案件): alerts grouped for investigation.

open → assigned → investigating → escalated → closed_false_positive | reported; a case may also be
closed as a false positive from investigating. Any other move is refused with
`case_transition_not_allowed`; an alert already in a case is refused with `alert_already_in_case`.

`open_cases_from_alerts` groups the alerts in no case by party: one new case per party, or the
alerts join the party's case still open (not closed), which its history records. A case's priority
(优先级) comes from its alerts: distinct typologies first, then the amount, then the count. The amount
counts each transaction of the alerts' evidence once (two alerts citing the same payment count it
once): it is the total of the suspicious transaction report built from the case.

Escalating (认定可疑) records the investigator's narrative; reporting needs one (`narrative_required`,
at least `MIN_NARRATIVE` characters) and generates the suspicious transaction report in the same
transaction (`puhui.regtech.str_report`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import func, select, update

from puhui import clock
from puhui.db import UnitOfWork
from puhui.identity import auth as identity_auth
from puhui.identity import queries as identity_queries
from puhui.money import format_minor
from puhui.regtech.alerts import alert_json
from puhui.regtech.errors import (
    AlertAlreadyInCase,
    AlertNotFound,
    CaseInvalid,
    CaseNotFound,
    CaseTransitionNotAllowed,
    DismissalReasonRequired,
    NarrativeRequired,
    UnknownAssignee,
)
from puhui.regtech.str_report import transactions_of
from puhui.regtech.tables import monitor_alerts, monitor_case_events, monitor_cases

TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"assigned"}),
    "assigned": frozenset({"investigating"}),
    "investigating": frozenset({"escalated", "closed_false_positive"}),
    "escalated": frozenset({"closed_false_positive", "reported"}),
    "closed_false_positive": frozenset(),
    "reported": frozenset(),
}
STATUSES = tuple(TRANSITIONS)
CLOSED = frozenset({"closed_false_positive", "reported"})
MIN_NARRATIVE = 20
MIN_DISMISSAL = 2  # a reason, however short: "工资" (a salary) says it
SORTS = ("priority", "opened")
CASE_ROLES = frozenset({"risk_officer", "admin"})  # who may work cases: the roles the API lets move them


# The operator's bootstrap admin (`PUHUI_ADMIN_TOKEN`, principal id `admin`, role admin: `puhui.api.deps`), who
# works cases with that token like any admin, so may be assigned one.
BOOTSTRAP_ADMIN = "admin"


def check_assignee(connection, assignee: str, actor: str) -> str:
    """The assignee of a case, checked through identity's functions (its tables are its own); refused
    with `unknown_assignee` otherwise. Accepted whoever assigns (the same answer for every caller who may
    assign): the officer assigning the case to themselves (`actor`, whose role the API checked); the
    bootstrap admin (`BOOTSTRAP_ADMIN`, `admin`); a staff id (`stf_…`) holding a live staff token of a role
    that works cases (`CASE_ROLES`); or the handle (工号) of an active staff member of such a role. A case put in
    the hands of someone who may not move it (a regulator, an operator) would stay where it is."""
    if assignee in (actor, BOOTSTRAP_ADMIN):
        return assignee
    roles = set()
    for credential in identity_auth.credentials_of(connection, assignee):
        found = None if credential["revoked"] else identity_auth.subject_of_credential(connection, credential["prefix"])
        if found is not None and credential["kind"] == "staff_token":
            roles.add(found[1])
    if roles & CASE_ROLES:
        return assignee
    if roles:
        raise UnknownAssignee(f"{assignee} is staff whose role does not work cases (it needs {sorted(CASE_ROLES)})")
    role = identity_queries.staff_role_by_handle(connection, assignee)
    if role in CASE_ROLES:
        return assignee
    if role is not None:
        raise UnknownAssignee(
            f"{assignee} is staff whose role ({role}) does not work cases (it needs {sorted(CASE_ROLES)})"
        )
    raise UnknownAssignee(
        f"{assignee!r} is not a staff member's id or handle, nor {BOOTSTRAP_ADMIN!r} (the bootstrap admin):"
        " a case is assigned to a risk officer or an admin"
    )


def check_dismissal(note: str | None) -> str:
    """The reason a case is closed as a false positive (排除理由), stripped: refused when missing or shorter than
    `MIN_DISMISSAL` characters, as the narrative of one escalated is (the review of a dismissed case reads it)."""
    cleaned = (note or "").strip()
    if len(cleaned) < MIN_DISMISSAL:
        raise DismissalReasonRequired(
            f"closing a case as a false positive needs a note of at least {MIN_DISMISSAL} characters saying why "
            "(排除理由)"
        )
    return cleaned


def check_narrative(text: str | None) -> str:
    """The narrative stripped; refused when missing or shorter than `MIN_NARRATIVE` characters."""
    cleaned = (text or "").strip()
    if len(cleaned) < MIN_NARRATIVE:
        raise NarrativeRequired(f"write a narrative of at least {MIN_NARRATIVE} characters (可疑交易描述)")
    return cleaned


def check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS.get(current, frozenset()):
        raise CaseTransitionNotAllowed(
            f"a case cannot go from {current} to {target}", allowed=sorted(TRANSITIONS.get(current, ()))
        )


def open_case(uow: UnitOfWork, alert_ids: list[str], actor: str) -> dict:
    """Open a case over alerts of one party that are in no case yet."""
    if not alert_ids:
        raise CaseInvalid("a case needs at least one alert")
    if len(set(alert_ids)) != len(alert_ids):
        twice = sorted({a for a in alert_ids if alert_ids.count(a) > 1})
        raise CaseInvalid(f"each alert is named once: {', '.join(twice)} named more than once")
    rows = uow.execute(select(monitor_alerts).where(monitor_alerts.c.id.in_(alert_ids))).mappings().all()
    missing = set(alert_ids) - {r["id"] for r in rows}
    if missing:
        raise AlertNotFound(f"alerts not found: {', '.join(sorted(missing))}")
    taken = [r["id"] for r in rows if r["case_id"] is not None]
    if taken:
        raise AlertAlreadyInCase(f"alerts already in a case: {', '.join(sorted(taken))}")
    parties = {r["party"] for r in rows}
    if len(parties) != 1:
        raise CaseInvalid("a case groups the alerts of one party")
    return get_case(uow.connection, _insert_case(uow, parties.pop(), alert_ids, actor))


def _insert_case(uow: UnitOfWork, party: str, alert_ids: list[str], actor: str) -> str:
    case_id = "case_" + hashlib.sha256("\x1f".join(sorted(alert_ids)).encode()).hexdigest()[:28]
    now = clock.now_micros()
    uow.execute(
        monitor_cases.insert().values(
            id=case_id, status="open", party=party, assignee=None, opened_by=actor, opened_at=now, updated_at=now
        )
    )
    _attach(uow, case_id, alert_ids)
    _record(uow, case_id, None, "open", actor, None, now)
    return case_id


def _attach(uow: UnitOfWork, case_id: str, alert_ids: list[str]) -> None:
    done = uow.execute(
        update(monitor_alerts)
        .where(monitor_alerts.c.id.in_(alert_ids), monitor_alerts.c.case_id.is_(None))
        .values(case_id=case_id)
    )
    if done.rowcount != len(alert_ids):
        raise AlertAlreadyInCase("an alert was put in another case meanwhile")


def open_cases_from_alerts(uow: UnitOfWork, actor: str, since: int | None = None) -> dict:
    """Put every alert in no case (raised at or after `since`, UTC micros) into a case of its party.

    A party with a case not closed gets the alerts added to it (recorded in the case history);
    any other party gets one new case over all its alerts. Running again changes nothing."""
    query = select(monitor_alerts.c.id, monitor_alerts.c.party).where(monitor_alerts.c.case_id.is_(None))
    if since is not None:
        query = query.where(monitor_alerts.c.raised_at >= since)
    by_party: dict[str, list[str]] = {}
    for alert, party in uow.execute(query.order_by(monitor_alerts.c.position, monitor_alerts.c.id)):
        by_party.setdefault(party, []).append(alert)
    live = _live_cases(uow, by_party)
    opened, extended = [], []
    for party, alert_ids in sorted(by_party.items()):
        case = live.get(party)
        if case is None:
            opened.append(_insert_case(uow, party, alert_ids, actor))
            continue
        _attach(uow, case["id"], alert_ids)
        now = clock.now_micros()
        uow.execute(update(monitor_cases).where(monitor_cases.c.id == case["id"]).values(updated_at=now))
        _record(uow, case["id"], case["status"], case["status"], actor, f"alerts added: {', '.join(alert_ids)}", now)
        extended.append(case["id"])
    return {"opened": opened, "extended": extended, "alerts": sum(len(a) for a in by_party.values())}


def _live_cases(uow: UnitOfWork, parties: Iterable[str]) -> dict[str, dict]:
    """Each party's case not closed (the latest opened when there are several)."""
    rows = uow.execute(
        select(monitor_cases.c.id, monitor_cases.c.party, monitor_cases.c.status)
        .where(monitor_cases.c.party.in_(list(parties)), monitor_cases.c.status.notin_(CLOSED))
        .order_by(monitor_cases.c.opened_at, monitor_cases.c.id)
    ).mappings()
    return {r["party"]: dict(r) for r in rows}


def case_amount(alerts: Iterable[Mapping]) -> int:
    """Σ fen of the transactions the alerts' evidence cites, each once (by position, ref and direction)."""
    return sum(f["amount"] for f in transactions_of(list(alerts)))


def case_figures(alerts: Sequence[Mapping]) -> tuple[int, int, int]:
    """(distinct typologies, amount, alerts) of a case's alerts: what its priority is made of."""
    return len({a["typology"] for a in alerts}), case_amount(alerts), len(alerts)


def priority(typologies: int, amount: int, alerts: int) -> dict:
    """A case's priority from its alerts: score = 10 × distinct typologies + the amount band
    (0-9: the number of digits of the whole-yuan total, capped), then ties by amount and count."""
    yuan = amount // 100
    band = min(9, int(math.log10(yuan)) + 1) if yuan > 0 else 0
    return {
        "score": 10 * typologies + band,
        "typologies": typologies,
        "alerts": alerts,
        "amount": format_minor(amount, 2),
    }


def transition(
    uow: UnitOfWork,
    case_id: str,
    target: str,
    actor: str,
    note: str | None = None,
    assignee: str | None = None,
    narrative: str | None = None,
    vault=None,
) -> dict:
    """Move a case one step; `assigned` needs an assignee who may work cases (`check_assignee`; the
    history records who assigned it). Guarded on the current status (no lost update).

    `escalated` records the narrative (or the note) as the escalation's note; `reported` needs a
    narrative (given now, or the escalation's) and returns the case with its generated `report`."""
    row = uow.execute(select(monitor_cases).where(monitor_cases.c.id == case_id)).mappings().first()
    if row is None:
        raise CaseNotFound(f"case {case_id} not found")
    check_transition(row["status"], target)
    if target == "assigned":
        if not assignee:
            raise CaseInvalid("assigning a case needs an assignee")
        assignee = check_assignee(uow.connection, assignee, actor)
    if target == "closed_false_positive":
        note = check_dismissal(note)
    if target == "escalated" and narrative is not None:
        note = check_narrative(narrative)
    if target == "reported":
        narrative = check_narrative(narrative if narrative is not None else escalation_note(uow.connection, case_id))
    now = clock.now_micros()
    values = {"status": target, "updated_at": now}
    if target == "assigned":
        values["assignee"] = assignee
    done = uow.execute(
        update(monitor_cases)
        .where(monitor_cases.c.id == case_id, monitor_cases.c.status == row["status"])
        .values(**values)
    )
    if done.rowcount != 1:
        raise CaseTransitionNotAllowed(f"case {case_id} changed meanwhile")
    _record(uow, case_id, row["status"], target, actor, note, now)
    if target == "reported":
        from puhui.regtech import str_report

        report = str_report.generate(uow, case_id, narrative or "", actor, vault)
        return {**get_case(uow.connection, case_id), "report": report}
    return get_case(uow.connection, case_id)


def escalation_note(connection, case_id: str) -> str | None:
    """The note of the case's latest move to `escalated` (the investigator's narrative)."""
    return connection.execute(
        select(monitor_case_events.c.note)
        .where(monitor_case_events.c.case_id == case_id, monitor_case_events.c.to_status == "escalated")
        .order_by(monitor_case_events.c.seq.desc())
        .limit(1)
    ).scalar()


def _record(
    uow: UnitOfWork, case_id: str, source: str | None, target: str, actor: str, note: str | None, at: int
) -> None:
    seq = uow.execute(
        select(func.coalesce(func.max(monitor_case_events.c.seq), 0)).where(monitor_case_events.c.case_id == case_id)
    ).scalar_one()
    uow.execute(
        monitor_case_events.insert().values(
            case_id=case_id, seq=seq + 1, from_status=source, to_status=target, actor=actor, note=note, at=at
        )
    )


def get_case(connection, case_id: str) -> dict:
    row = connection.execute(select(monitor_cases).where(monitor_cases.c.id == case_id)).mappings().first()
    if row is None:
        raise CaseNotFound(f"case {case_id} not found")
    alerts = connection.execute(
        select(monitor_alerts).where(monitor_alerts.c.case_id == case_id).order_by(monitor_alerts.c.position)
    ).mappings()
    history = connection.execute(
        select(monitor_case_events).where(monitor_case_events.c.case_id == case_id).order_by(monitor_case_events.c.seq)
    ).mappings()
    alerts = list(alerts)
    return {
        "id": row["id"],
        "status": row["status"],
        "party": row["party"],
        "assignee": row["assignee"],
        "opened_by": row["opened_by"],
        "opened_at": clock.from_micros(row["opened_at"]).isoformat(),
        "priority": priority(*case_figures(alerts)),
        "alerts": [alert_json(a) for a in alerts],
        "history": [
            {
                "from": h["from_status"],
                "to": h["to_status"],
                "by": h["actor"],
                "note": h["note"],
                "at": clock.from_micros(h["at"]).isoformat(),
            }
            for h in history
        ],
    }


def list_cases(connection, status: str | None = None, limit: int = 100, sort: str = "priority") -> list[dict]:
    """Cases (of a status), highest priority first, or in the order opened (`sort="opened"`)."""
    if status is not None and status not in TRANSITIONS:
        raise CaseInvalid(f"unknown case status {status!r}", allowed=list(STATUSES))
    if sort not in SORTS:
        raise CaseInvalid(f"unknown sort {sort!r}", allowed=list(SORTS))
    query = select(monitor_cases.c.id, monitor_cases.c.opened_at)
    if status is not None:
        query = query.where(monitor_cases.c.status == status)
    if sort == "opened":
        ids = connection.execute(query.order_by(monitor_cases.c.opened_at, monitor_cases.c.id).limit(limit)).scalars()
        return [get_case(connection, i) for i in ids.all()]
    # The amount counts each transaction once, which needs the alerts' evidence: figured here, not in SQL.
    opened = {case_id: at for case_id, at in connection.execute(query)}
    a = monitor_alerts.c
    alerts_of: dict[str, list[Mapping]] = {case_id: [] for case_id in opened}
    in_cases = select(a.case_id, a.id, a.typology, a.evidence).where(a.case_id.is_not(None))
    if status is not None:
        in_cases = in_cases.where(a.case_id.in_(select(monitor_cases.c.id).where(monitor_cases.c.status == status)))
    for row in connection.execute(in_cases).mappings():
        if row["case_id"] in alerts_of:
            alerts_of[row["case_id"]].append(row)

    def rank(case_id: str) -> tuple:
        typologies, amount, alerts = case_figures(alerts_of[case_id])
        return (-typologies, -amount, -alerts, opened[case_id], case_id)

    ids = sorted(opened, key=rank)[:limit]
    return [get_case(connection, i) for i in ids]
