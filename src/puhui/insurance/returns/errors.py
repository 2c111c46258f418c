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
