"""Risk errors, each with a stable code (see `puhui.errors`)."""

from __future__ import annotations

from puhui.errors import InvalidInput, NotFound


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
