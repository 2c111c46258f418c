"""Return-shipping insurance errors (退货运费险), each with a stable machine code."""

from __future__ import annotations

from puhui.errors import Conflict, InvalidInput, NotFound


class ReturnCoverRefused(InvalidInput):
    """The buyer's returns look like abuse (恶意退货): cover is not sold with this order."""

    code = "return_cover_refused"
    title = "Return-shipping cover is not offered to this buyer"


class ReturnCheckoutHeld(Conflict):
    """The payment would be held for review (人工审核): cover is bought only with a payment made."""

    code = "return_checkout_needs_review"
    title = "The payment would be held for review; cover is not sold with it"


class ReturnCheckoutPaymentExists(Conflict):
    code = "return_checkout_payment_exists"
    title = "This client payment id already paid the QR code without cover"


class ReturnShippingPolicyNotFound(NotFound):
    code = "return_shipping_policy_not_found"
    title = "Return-shipping policy not found"


class ReturnCoverExpired(Conflict):
    """The return is confirmed after the cover's term (`models.COVER_DAYS` days from the order, to 24:00 China
    time of its last day): no claim is paid, nothing moves, and the policy reads as `expired`. The problem
    names the `policy_id` and its `cover_end` (exclusive: the first day no longer covered)."""

    code = "return_cover_expired"
    title = "The return-shipping cover's term has ended"
