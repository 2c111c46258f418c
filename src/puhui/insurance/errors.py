"""Insurance errors (互联网保险), each with a stable machine code (RFC 9457 problems through the API)."""

from __future__ import annotations

from puhui.errors import Conflict, InvalidInput, NotFound


class InsuranceProductInvalid(InvalidInput):
    """A product version (产品版本) whose terms are malformed or inconsistent."""

    code = "insurance_product_invalid"
    title = "Invalid insurance product"


class AgeNotCovered(InvalidInput):
    """The insured's age falls in no band of the premium table (费率表)."""

    code = "age_not_covered"
    title = "The product does not cover this age"


class CancellationDateInvalid(InvalidInput):
    code = "cancellation_date_invalid"
    title = "A policy is cancelled within its cover"


class ClaimOutsideCover(InvalidInput):
    code = "claim_outside_cover"
    title = "The loss happened outside the policy's cover"


class InsurerNotFound(NotFound):
    """The partner is not a registered insurer (保险公司)."""

    code = "insurer_not_found"
    title = "Insurer not found"


class InsuranceProductNotFound(NotFound):
    code = "insurance_product_not_found"
    title = "No such insurance product version"


class InsuranceProductExists(Conflict):
    """A product version is immutable: the same (code, version) with other terms is refused."""

    code = "insurance_product_exists"
    title = "This product version exists with other terms"


class PolicyNotFound(NotFound):
    code = "policy_not_found"
    title = "Policy not found"


class PolicyNotActive(Conflict):
    code = "policy_not_active"
    title = "The policy is no longer in force (already cancelled)"


class UnderwritingDeclined(InvalidInput):
    """The health declaration (健康告知) declines the cover (拒保): nothing is sold, nothing moves."""

    code = "underwriting_declined"
    title = "The health declaration declines this cover"


class RenewalNotOpen(Conflict):
    """A policy is renewed (续保) from 30 days before its cover ends until it ends."""

    code = "renewal_not_open"
    title = "The policy cannot be renewed today"


class InsuredAgeMismatch(InvalidInput):
    """The age sent is not the insured's age (周岁) on the cover start by the birth date in their verified ID:
    the premium is priced on the ID's age, so a different one is refused and nothing is sold."""

    code = "insured_age_mismatch"
    title = "The age sent is not the age by the insured's ID"


class InsuredBirthDateUnknown(Conflict):
    """No birth date is on file for the insured (their ID number is erased), so no age can be priced."""

    code = "insured_birth_date_unknown"
    title = "The insured's birth date is not on file"


class PolicyAlreadyInForce(Conflict):
    """The insured already has a policy of this product (any version) whose cover overlaps the new one's, in
    force or awaiting its start: indemnity medical cover (百万医疗) pays a loss once, so a second premium would
    buy nothing. Nothing is sold, nothing moves; `policy_id` and `cover_end` name the policy in the way (a
    renewal starting on or after its cover end stays allowed; a cancelled policy blocks nothing)."""

    code = "policy_already_in_force"
    title = "The insured already has this cover for the period"
