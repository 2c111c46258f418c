"""Who may do what to whom: the identity access matrix as data, checked before anything is read.

"self" means a customer acting on their own record, or a merchant on its own. Regulators read
(supervision) but never change anything; customers and merchants only ever reach themselves.
Clear personal information additionally needs a role in `CLEAR_PII_ROLES` and an explicit ask.
"""

from __future__ import annotations

from dataclasses import dataclass

from puhui.errors import Forbidden, Unauthorized
from puhui.identity.models import Actor, Role

ANONYMOUS = "anonymous"
_READERS = frozenset({Role.operator, Role.risk_officer, Role.regulator, Role.admin})
_OPS = frozenset({Role.operator, Role.admin})
_ADMIN = frozenset({Role.admin})


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]  # roles allowed on anyone
    self_role: str | None = None  # this role is allowed on its own record
    anonymous: bool = False


RULES: dict[str, Rule] = {
    "customer.register": Rule(_OPS, anonymous=True),
    "customer.read": Rule(_READERS, self_role=Role.customer),
    "customer.verify": Rule(_OPS),
    "customer.upgrade_tier": Rule(_OPS),
    "customer.bind_card": Rule(frozenset(), self_role=Role.customer),
    "customer.consent": Rule(frozenset(), self_role=Role.customer),
    "customer.export": Rule(frozenset(), self_role=Role.customer),
    "customer.close": Rule(_OPS, self_role=Role.customer),
    "customer.logout": Rule(frozenset(), self_role=Role.customer),
    "customer.sessions": Rule(_OPS, self_role=Role.customer),
    "customer.change_password": Rule(frozenset(), self_role=Role.customer),
    "merchant.create": Rule(_OPS),
    "merchant.read": Rule(_READERS, self_role=Role.merchant),
    "merchant.manage_keys": Rule(_OPS, self_role=Role.merchant),
    "partner.create": Rule(_ADMIN),
    "staff.create": Rule(_ADMIN),
    "pii_access_log.read": Rule(frozenset({Role.admin, Role.regulator})),
}


def allowed(actor: Actor, action: str, subject_id: str | None = None) -> bool:
    rule = RULES[action]
    if actor.role == ANONYMOUS:
        return rule.anonymous
    if actor.role in rule.roles:
        return True
    return rule.self_role is not None and actor.role == rule.self_role and actor.id == subject_id


def authorize(actor: Actor, action: str, subject_id: str | None = None) -> None:
    """Raise 401 for an anonymous caller who needs credentials, 403 for anyone else not allowed."""
    if allowed(actor, action, subject_id):
        return
    if actor.role == ANONYMOUS:
        raise Unauthorized("send Authorization: Bearer <token>")
    noun = action.partition(".")[0].replace("_", " ")
    others = f" on another {noun}" if actor.role == RULES[action].self_role else ""  # a self rule, not theirs
    raise Forbidden(f"{action}: not allowed for a {actor.role}{others}")
