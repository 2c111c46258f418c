"""Identity errors, each with a stable code. Input-shape errors live beside their validators in
`models.py`; vault errors in `vault.py`. No message ever carries a personal value."""

from __future__ import annotations

from puhui.errors import Conflict, Forbidden, InvalidInput, NotFound, PuhuiError, Unauthorized


class PurposeRequired(InvalidInput):
    """Revealing personal information in clear needs a stated purpose (用途), which the access log keeps."""

    code = "purpose_required"
    title = "Say why the clear values are needed"


class CustomerNotFound(NotFound):
    code = "customer_not_found"
    title = "Customer not found"


class MerchantNotFound(NotFound):
    code = "merchant_not_found"
    title = "Merchant not found"


class AlreadyRegistered(Conflict):
    code = "id_number_already_registered"
    title = "A customer with this resident ID number already exists (one person, one customer)"


class PhoneTaken(Conflict):
    code = "phone_already_registered"
    title = "This mobile phone number is already registered"


class RegistrationRefused(Conflict):
    """What an anonymous sign-up is told when the person or the phone already has a customer: not which,
    so that sign-up cannot be used to learn whether a phone number or an ID number is a customer's."""

    code = "registration_refused"
    title = "These details cannot open a new account"


class CardAlreadyBound(Conflict):
    code = "card_already_bound"
    title = "This bank card is already bound"


class CreditCodeTaken(Conflict):
    code = "credit_code_already_registered"
    title = "A merchant with this unified social credit code already exists"


class HandleTaken(Conflict):
    code = "staff_handle_taken"
    title = "A staff member with this handle already exists"


class CustomerClosed(Conflict):
    code = "customer_closed"
    title = "The customer account is closed"


class WalletNotEmpty(Conflict):
    code = "wallet_not_empty"
    title = "The wallet still holds money or pending holds; withdraw it before closing"


class VerificationExists(Conflict):
    code = "verification_exists"
    title = "This channel reference was already recorded"


class InsufficientVerifications(Conflict):
    code = "insufficient_verifications"
    title = "Not enough independent verifications for this wallet tier"


class TierNotHigher(Conflict):
    code = "tier_not_higher"
    title = "The customer is already at this tier or higher"


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    title = "Phone number or password is wrong"


class CurrentPasswordInvalid(Forbidden):
    code = "current_password_invalid"
    title = "The current password given to change it is wrong"


class PaymentPasswordInvalid(Forbidden):
    code = "payment_password_invalid"
    title = "The password given to verify the payment is wrong"


class TokenExpired(Unauthorized):
    code = "token_expired"
    title = "The session token has expired; log in again"


class RevealNotAllowed(Forbidden):
    code = "reveal_not_allowed"
    title = "Your role may not see personal information in clear"


class AuthNotConfigured(PuhuiError):
    code = "auth_not_configured"
    status = 500
    title = "No session token secret is configured (PUHUI_JWT_SECRET)"
