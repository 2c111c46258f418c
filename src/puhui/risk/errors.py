"""Risk errors, each with a stable code (see `puhui.errors`)."""

from __future__ import annotations

from puhui.errors import Conflict, InvalidInput, NotFound


class UnknownCustomer(NotFound):
    code = "unknown_customer"
    title = "No such customer"


class MalformedRule(InvalidInput):
    code = "malformed_rule"
    title = "The rule is not well formed"


class UnknownFeature(InvalidInput):
    code = "unknown_feature"
    title = "The rule refers to a feature that does not exist"


class MissingLabel(InvalidInput):
    code = "missing_label"
    title = "The training data has no label column"


class UnknownModel(NotFound):
    code = "unknown_model"
    title = "No such model"


class MalformedTime(InvalidInput):
    code = "malformed_as_of"
    title = "as_of is not an ISO-8601 time with a zone, a date, or UTC microseconds"


class UnknownRule(NotFound):
    code = "unknown_rule"
    title = "No such fraud rule"


class RuleExists(Conflict):
    code = "rule_exists"
    title = "A rule with this id exists; change it with PUT"


class NotOnBlocklist(NotFound):
    code = "not_on_blocklist"
    title = "The value is not on that block list"


class BadBlocklistEntry(InvalidInput):
    code = "bad_blocklist_entry"
    title = "A block list entry needs a list name and a value"


class MalformedApplicant(InvalidInput):
    code = "malformed_applicant"
    title = "The applicant's features are missing, unknown or of the wrong type"


class MalformedData(InvalidInput):
    code = "malformed_training_data"
    title = "The training data cannot be used"


class MalformedCosts(InvalidInput):
    code = "malformed_costs"
    title = "The fraud action costs are not well formed"
