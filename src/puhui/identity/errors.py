"""Identity errors, each with a stable code. Input-shape errors live beside their validators in
`models.py`; vault errors in `vault.py`. No message ever carries a personal value."""

from __future__ import annotations

from puhui.errors import Conflict, Forbidden, InvalidInput, NotFound, PuhuiError, Unauthorized


class PurposeRequired(InvalidInput):
    """Revealing personal information in clear needs a stated purpose (用途), which the access log keeps."""

    code = "purpose_required"
    title = "Say why the clear values are needed"


class ReasonOnlyWhenFailed(InvalidInput):
    """A check's `reason` says why it failed (`verifier.Reason`): a passed check has none."""

    code = "reason_only_when_failed"
    title = "Only a failed check has a reason"


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


class AccountHasHoldings(Conflict):
    """Closing (注销) is refused while anything is open in the customer's name: a loan, brokerage cash or
    shares, fund or money-market units, orders waiting for confirmation, a policy in force. The problem
    lists each (`holdings`: kind, account/loan/order/policy id, amount), never a personal value."""

    code = "account_has_holdings"
    title = "The customer still has open loans, holdings or orders; settle them before closing"


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


class CredentialNotFound(NotFound):
    code = "credential_not_found"
    title = "No such API key or token"


class InvalidIdNumber(InvalidInput):
    code = "invalid_id_number"
    title = "Resident ID number is not valid (GB 11643)"


class ConsentRequired(InvalidInput):
    """Opening a wallet needs the customer's consent to process their data for payments (支付服务协议与隐私
    政策, PIPL art. 13-14; PBOC payment-account rules): `missing` names the purposes not given."""

    code = "consent_required"
    title = "Consent required to open an account"


class BiometricConsentRequired(ConsentRequired):
    """Face recognition (人脸识别) processes biometrics, sensitive personal information (敏感个人信息, PIPL art.
    28-29): it needs the customer's separate consent (单独同意) to `biometrics`, standing or given with the check.
    `missing` names it; nothing is recorded and no provider is asked."""

    code = "biometric_consent_required"
    title = "Face recognition needs your separate consent to process your biometrics"


class CustomerUnderAge(InvalidInput):
    code = "customer_under_age"
    title = "The person is under the minimum age to open an account alone"


class InvalidPhone(InvalidInput):
    code = "invalid_phone"
    title = "Mobile phone number is not valid"


class InvalidCardNumber(InvalidInput):
    code = "invalid_card_number"
    title = "Bank card number is not valid (Luhn)"


class InvalidName(InvalidInput):
    code = "invalid_name"
    title = "Name is not valid"


class InvalidAddress(InvalidInput):
    code = "invalid_address"
    title = "Address is not valid"


class WeakPassword(InvalidInput):
    code = "weak_password"
    title = "Password does not meet the policy"


class InvalidCreditCode(InvalidInput):
    code = "invalid_credit_code"
    title = "Unified social credit code is not valid (GB 32100)"


class InvalidBankAccount(InvalidInput):
    code = "invalid_bank_account"
    title = "Bank account number is not valid"


class InvalidHandle(InvalidInput):
    code = "invalid_staff_handle"
    title = "A staff handle is 2-64 characters: a-z, 0-9, '.', '_', '-', starting with a letter"


class InvalidRole(InvalidInput):
    code = "invalid_role"
    title = "Unknown or not assignable role"


class MerchantSuspended(InvalidInput):
    code = "merchant_suspended"
    status = 409
    title = "The merchant is suspended and cannot be paid"


class TooManyLoginAttempts(PuhuiError):
    code = "too_many_login_attempts"
    status = 429
    title = "Too many failed log-ins for this phone; try again later"


class VaultError(PuhuiError):
    code = "vault_error"
    status = 500
    title = "Personal information could not be opened"


class VaultNotConfigured(VaultError):
    code = "vault_not_configured"
    title = "No PII encryption key is configured (PUHUI_PII_KEYS)"


class VerificationProviderUnavailable(PuhuiError):
    """Self-verification (自助实名核验) needs an external verification provider: the sandbox's (PUHUI_SANDBOX) or
    one configured (PUHUI_VERIFICATION_PROVIDER). Without one, or when it cannot answer, nothing is recorded:
    never a silent pass."""

    code = "verification_provider_unavailable"
    status = 503
    title = "No identity verification provider can answer now; nothing was recorded"


class VerificationProviderInvalid(PuhuiError):
    """PUHUI_VERIFICATION_PROVIDER names no `module:factory` that makes a provider, or the sandbox's outside it."""

    code = "verification_provider_invalid"
    status = 500
    title = "The configured identity verification provider cannot be used"
    exit_status = 2


class ChannelAlreadyVerified(Conflict):
    """A channel counts once (`kyc.TIER_RULES`): a customer does not run a check again on a channel that passed."""

    code = "channel_already_verified"
    title = "This channel has already confirmed your identity"


class VerificationInProgress(Conflict):
    """A check of the same channel is being asked of the provider now (核验进行中): the same request sent twice at
    once, or two of the customer's checks. Refused before it asks; `retry_after_seconds` says when to try again
    (a retry with the same `Idempotency-Key` then gets the first one's answer)."""

    code = "verification_in_progress"
    title = "A check of this channel is running; try again in a moment"


class CardNotFound(NotFound):
    """The card id names no card bound to the calling customer (someone else's, erased or never bound)."""

    code = "card_not_found"
    title = "No bank card with this id is bound to you"


class TooManyVerificationAttempts(PuhuiError):
    """Failed self-verifications per customer per China day (`self_kyc.MAX_FAILURES_PER_DAY`): the next is refused
    before any provider is asked, until the day ends (`retry_after_seconds`)."""

    code = "too_many_verification_attempts"
    status = 429
    title = "Too many failed identity checks today; try again tomorrow"
