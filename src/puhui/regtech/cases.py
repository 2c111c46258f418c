"""Cases (案件): alerts grouped for investigation.

open → assigned → investigating → escalated → closed_false_positive | reported; a case may also be
closed as a false positive from investigating. Any other move is refused with
`case_transition_not_allowed`; an alert already in a case is refused with `alert_already_in_case`.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select, update

from puhui import clock
from puhui.db import UnitOfWork
from puhui.errors import Conflict, InvalidInput, NotFound
from puhui.regtech.alerts import alert_json
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


class CaseNotFound(NotFound):
    code = "case_not_found"
    title = "Case not found"


class CaseTransitionNotAllowed(Conflict):
    code = "case_transition_not_allowed"
    title = "Case transition not allowed"


class AlertAlreadyInCase(Conflict):
    code = "alert_already_in_case"
    title = "Alert already belongs to a case"


class CaseInvalid(InvalidInput):
    code = "case_invalid"
    title = "Case request is not valid"


def check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS.get(current, frozenset()):
        raise CaseTransitionNotAllowed(f"a case cannot go from {current} to {target}",
                                       allowed=sorted(TRANSITIONS.get(current, ())))


def open_case(uow: UnitOfWork, alert_ids: list[str], actor: str) -> dict:
    """Open a case over alerts of one party that are in no case yet."""
    if not alert_ids:
        raise CaseInvalid("a case needs at least one alert")
    rows = uow.execute(select(monitor_alerts).where(monitor_alerts.c.id.in_(alert_ids))).mappings().all()
    missing = set(alert_ids) - {r["id"] for r in rows}
    if missing:
        raise NotFound(f"alerts not found: {', '.join(sorted(missing))}")
    taken = [r["id"] for r in rows if r["case_id"] is not None]
    if taken:
        raise AlertAlreadyInCase(f"alerts already in a case: {', '.join(sorted(taken))}")
    parties = {r["party"] for r in rows}
    if len(parties) != 1:
        raise CaseInvalid("a case groups the alerts of one party")
    case_id = "case_" + hashlib.sha256("\x1f".join(sorted(alert_ids)).encode()).hexdigest()[:28]
    now = clock.now_micros()
    uow.execute(monitor_cases.insert().values(id=case_id, status="open", party=parties.pop(), assignee=None,
                                              opened_by=actor, opened_at=now, updated_at=now))
    done = uow.execute(update(monitor_alerts).where(monitor_alerts.c.id.in_(alert_ids),
                                                    monitor_alerts.c.case_id.is_(None)).values(case_id=case_id))
    if done.rowcount != len(alert_ids):
        raise AlertAlreadyInCase("an alert was put in another case meanwhile")
    _record(uow, case_id, None, "open", actor, None, now)
    return get_case(uow.connection, case_id)


def transition(uow: UnitOfWork, case_id: str, target: str, actor: str, note: str | None = None,
               assignee: str | None = None) -> dict:
    """Move a case one step; `assigned` needs an assignee. Guarded on the current status (no lost update)."""
    row = uow.execute(select(monitor_cases).where(monitor_cases.c.id == case_id)).mappings().first()
    if row is None:
        raise CaseNotFound(f"case {case_id} not found")
    check_transition(row["status"], target)
    if target == "assigned" and not assignee:
        raise CaseInvalid("assigning a case needs an assignee")
    now = clock.now_micros()
    values = {"status": target, "updated_at": now}
    if target == "assigned":
        values["assignee"] = assignee
    done = uow.execute(update(monitor_cases).where(monitor_cases.c.id == case_id,
                                                   monitor_cases.c.status == row["status"]).values(**values))
    if done.rowcount != 1:
        raise CaseTransitionNotAllowed(f"case {case_id} changed meanwhile")
    _record(uow, case_id, row["status"], target, actor, note, now)
    return get_case(uow.connection, case_id)


def _record(uow: UnitOfWork, case_id: str, source: str | None, target: str, actor: str, note: str | None,
            at: int) -> None:
    seq = uow.execute(select(func.coalesce(func.max(monitor_case_events.c.seq), 0))
                      .where(monitor_case_events.c.case_id == case_id)).scalar_one()
    uow.execute(monitor_case_events.insert().values(case_id=case_id, seq=seq + 1, from_status=source,
                                                    to_status=target, actor=actor, note=note, at=at))


def get_case(connection, case_id: str) -> dict:  # type: ignore[no-untyped-def]
    row = connection.execute(select(monitor_cases).where(monitor_cases.c.id == case_id)).mappings().first()
    if row is None:
        raise CaseNotFound(f"case {case_id} not found")
    alerts = connection.execute(select(monitor_alerts).where(monitor_alerts.c.case_id == case_id)
                                .order_by(monitor_alerts.c.position)).mappings()
    history = connection.execute(select(monitor_case_events).where(monitor_case_events.c.case_id == case_id)
                                 .order_by(monitor_case_events.c.seq)).mappings()
    return {"id": row["id"], "status": row["status"], "party": row["party"], "assignee": row["assignee"],
            "opened_by": row["opened_by"], "opened_at": clock.from_micros(row["opened_at"]).isoformat(),
            "alerts": [alert_json(a) for a in alerts],
            "history": [{"from": h["from_status"], "to": h["to_status"], "by": h["actor"], "note": h["note"],
                         "at": clock.from_micros(h["at"]).isoformat()} for h in history]}


def list_cases(connection, status: str | None = None, limit: int = 100) -> list[dict]:  # type: ignore[no-untyped-def]
    query = select(monitor_cases.c.id)
    if status is not None:
        query = query.where(monitor_cases.c.status == status)
    ids = connection.execute(query.order_by(monitor_cases.c.opened_at, monitor_cases.c.id).limit(limit)).scalars().all()
    return [get_case(connection, i) for i in ids]
