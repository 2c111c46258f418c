"""Insurer settlement errors (保费结算), each with a stable machine code (RFC 9457 problems)."""

from __future__ import annotations

from puhui.errors import Conflict, InvalidInput


class SettlementTermsInvalid(InvalidInput):
    """Settlement terms that break a rule: a rate outside [0, 1), a schedule day out of range."""

    code = "settlement_terms_invalid"
    title = "Invalid insurer settlement terms"


class SettlementTermsMissing(Conflict):
    """The insurer has no settlement terms yet (结算条款), so nothing can be remitted."""

    code = "settlement_terms_missing"
    title = "The insurer has no settlement terms"


class RemittancePeriodClosed(Conflict):
    """A later period was already remitted (保费划转): an earlier date cannot be remitted again."""

    code = "remittance_period_closed"
    title = "A later period was already remitted"


class RemittanceBeforeOnboarding(Conflict):
    """A first remittance through a date before the insurer was onboarded (接入): nothing was held for it then."""

    code = "remittance_before_onboarding"
    title = "The insurer was onboarded after that date"
