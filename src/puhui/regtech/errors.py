"""Regtech errors, each with a stable machine code (RFC 9457 problems through the API)."""

from __future__ import annotations

from puhui.errors import Conflict, InvalidInput, NotFound


class AlertNotFound(NotFound):
    code = "alert_not_found"
    title = "Alert not found"


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


class DismissalReasonRequired(InvalidInput):
    code = "dismissal_reason_required"
    title = "Closing a case as a false positive needs the reason"


class NarrativeRequired(InvalidInput):
    code = "narrative_required"
    title = "A suspicious transaction report needs the investigator's narrative"


class InvalidRange(InvalidInput):
    code = "dashboard_invalid_range"
    title = "The dashboard's date range is not valid"


class RangeInvalid(InvalidInput):
    code = "range_invalid"
    title = "The analysis range is not valid"


class RelatedPartyInvalid(InvalidInput):
    code = "related_party_invalid"
    title = "Related party is not valid"


class RelatedPartyExists(Conflict):
    code = "related_party_exists"
    title = "Related party already registered"


class RelatedPartyNotFound(NotFound):
    code = "related_party_not_found"
    title = "Related party not found"


class NoDataForDate(InvalidInput):
    code = "report_no_data"
    title = "No transactions to report on that date"


class ReportExists(Conflict):
    code = "report_exists"
    title = "Report already generated"


class ReportNotFound(NotFound):
    code = "report_not_found"
    title = "Report not found"


class ReportAlreadySubmitted(Conflict):
    code = "report_already_submitted"
    title = "Report already submitted"


class RuleInvalid(InvalidInput):
    code = "rule_invalid"
    title = "Monitoring rule is not valid"


class RuleStatutory(InvalidInput):
    """A version of a statutory large-value rule that the order does not allow: switched off, watching something
    else, or above its threshold (PBOC Order 2016 No. 3)."""

    code = "rule_statutory"
    title = "A statutory large-value rule may only be made stricter"


class RuleNotFound(NotFound):
    code = "rule_not_found"
    title = "Monitoring rule not found"


class UnknownAssignee(InvalidInput):
    """A case is assigned only to a staff member who may work cases (a risk officer or an admin)."""

    code = "unknown_assignee"
    title = "The assignee is not a staff member who may work cases"
