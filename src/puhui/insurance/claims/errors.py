"""Claims errors (理赔), each with a stable machine code (RFC 9457 problems through the API)."""

from __future__ import annotations

from puhui.errors import Conflict, InvalidInput, NotFound


class ClaimNotFound(NotFound):
    code = "claim_not_found"
    title = "Claim not found"


class ClaimDuplicate(Conflict):
    """A claim reported twice (重复报案): the policy has a claim for the same medical event (the insured,
    the event date, the diagnosis category) under review, approved or paid, whatever the amount and the
    documents; or the same event date, diagnosis code, amount and documents were claimed on the policy already."""

    code = "claim_duplicate"
    title = "This claim was reported already"


class ClaimEventInFuture(InvalidInput):
    code = "claim_event_in_future"
    title = "The event date (出险日期) is after today"


class ClaimDocumentInvalid(InvalidInput):
    code = "claim_document_invalid"
    title = "A claim document is not valid base64 or is too large"


class ClaimNotReviewable(Conflict):
    """Only a claim under review (人工审核) is approved or declined by staff; a paid one stays paid."""

    code = "claim_not_reviewable"
    title = "The claim is not under review"


class ClaimAmountsInvalid(InvalidInput):
    code = "claim_amounts_invalid"
    title = "Social insurance paid more than the amount billed"


class ClaimDateInvalid(InvalidInput):
    code = "claim_date_invalid"
    title = "The event date is not a calendar date"


class ClaimNoteRequired(InvalidInput):
    """Approving a claim the rules sent to review for what it lacks or how it scored (`documents_missing`,
    `fraud_score`) needs the officer's note saying why it is approved all the same."""

    code = "claim_note_required"
    title = "Say why the claim is approved despite its review reasons"


class ClaimReasonRequired(InvalidInput):
    """A decline on review states its reason (拒赔理由, 保险法 Art. 24)."""

    code = "claim_reason_required"
    title = "A declined claim states its reason"
