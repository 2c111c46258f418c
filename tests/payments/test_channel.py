"""The bank channel's values, notification signing and verification, and the statement file format."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puhui import clock
from puhui.errors import PuhuiError
from puhui.payments.bank.channel import (
    Acknowledgement,
    BankNotification,
    BankOrder,
    FailureReason,
    OrderKind,
    OrderState,
    mask_card,
)
from puhui.payments.bank.signing import MemoryNonceCache, sign, sign_notification, verify_notification
from puhui.payments.bank.statement import HEADER, Direction, StatementLine, format_statement, parse_statement
from puhui.payments.errors import (
    BankChannelError,
    BankOrderConflict,
    BankOrderNotFound,
    ChannelUnavailable,
    ForgedNotification,
    InvalidBankOrder,
    MalformedNotification,
    MalformedStatement,
    ReplayedNotification,
    StaleNotification,
    WeakSigningKey,
)

KEY = b"test-notification-key-0123456789"
OTHER_KEY = b"another-notification-key-9876543"
CARD = "6222020000000000018"
T0 = dt.datetime(2026, 1, 5, 1, 30, tzinfo=clock.UTC)


def notification(**changes: object) -> BankNotification:
    values: dict = dict(
        order_id="topup-1",
        bank_reference="SBX2026010500000001",
        kind=OrderKind.debit_card,
        state=OrderState.succeeded,
        failure_reason=None,
        amount=12_34,
        currency="CNY",
        settled_at=T0,
        notified_at=T0 + dt.timedelta(seconds=3),
        nonce="0123456789abcdef0123456789abcdef",
    )
    values.update(changes)
    return BankNotification(**values)


# ---------------------------------------------------------------------------------------------
# Orders


def test_an_order_takes_its_time_from_the_clock_and_masks_its_card(clock: clock.ManualClock) -> None:
    order = BankOrder("topup-1", "debit_card", CARD, 12_34)
    assert order.kind is OrderKind.debit_card
    assert order.created_at == clock.now()
    assert CARD not in repr(order) and CARD not in str(order)
    assert "6222" in repr(order) and "0018" in repr(order)
    assert mask_card(CARD) == "6222***********0018"
    assert mask_card("tok_abcdefgh") == "tok_ab******"


def test_a_card_token_is_accepted_in_place_of_a_card_number() -> None:
    assert BankOrder("o-1", OrderKind.credit_card, "tok_merchant-42", 1).card == "tok_merchant-42"


@pytest.mark.parametrize("kind", [OrderKind.credit_card, OrderKind.debit_card])
@pytest.mark.parametrize("number", ["110060774018010012345", "6222020000000888888", "12345678"])
def test_a_merchants_corporate_account_is_accepted_both_ways(kind: OrderKind, number: str) -> None:
    """A settlement payout goes to the merchant's corporate account (对公账户, no check digit), and its top-up
    (商户充值) is drawn on it: an account is no card, so one of a card's length that fails Luhn is as good."""
    assert BankOrder("o-1", kind, number, 1, account=True).card == number


@pytest.mark.parametrize("number", ["6222020000000888888", "110060774018010012345", "12345678"])
def test_an_account_number_is_no_card(number: str) -> None:
    """Without `account` the order names a personal card: 12-19 digits with a Luhn digit, nothing else."""
    with pytest.raises(InvalidBankOrder):
        BankOrder("o-1", OrderKind.credit_card, number, 1)


@pytest.mark.parametrize("number", ["1234567", "1" * 33, "6222-0200-0000", "６２２２０２０００", "", 12345678])
def test_a_malformed_corporate_account_is_refused(number) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidBankOrder) as caught:
        BankOrder("o-1", OrderKind.credit_card, number, 1, account=True)
    assert caught.value.code == "invalid_bank_order"


@pytest.mark.parametrize(
    "changes",
    [
        {"order_id": ""},
        {"order_id": "has space"},
        {"order_id": "x" * 65},
        {"order_id": "comma,inside"},
        {"order_id": "trailing-newline\n"},
        {"kind": "transfer"},
        {"card": "6222020000000000019"},  # Luhn check digit wrong
        {"card": "6222020"},  # too short, for a card and for a corporate account (8-32 digits)
        {"card": "tok_"},  # empty token
        {"card": "6222020000000000018\n"},
        {"card": 6222020000000000018},
        {"amount": 0},
        {"amount": -1},
        {"amount": 1.5},
        {"amount": "12.34"},
        {"amount": True},
        {"amount": 10**16},
        {"currency": "USD"},
        {"created_at": dt.datetime(2026, 1, 5, 9, 30)},  # naive
    ],
)
def test_a_malformed_order_is_refused(changes: dict) -> None:
    values: dict = dict(order_id="o-1", kind="debit_card", card=CARD, amount=100, created_at=T0)
    values.update(changes)
    with pytest.raises(InvalidBankOrder) as caught:
        BankOrder(**values)
    assert caught.value.code == "invalid_bank_order" and caught.value.status == 422


def test_an_order_differs_by_its_content_not_by_when_it_was_built() -> None:
    order = BankOrder("o-1", "debit_card", CARD, 100, created_at=T0)
    assert order.differences(BankOrder("o-1", "debit_card", CARD, 100, created_at=T0 + dt.timedelta(hours=1))) == []
    other = BankOrder("o-1", "credit_card", "6222020000000000026", 101, created_at=T0)
    assert order.differences(other) == ["kind", "card", "amount"]


@pytest.mark.parametrize(
    "error, code, status",
    [
        (InvalidBankOrder, "invalid_bank_order", 422),
        (BankOrderConflict, "bank_order_conflict", 409),
        (BankOrderNotFound, "bank_order_not_found", 404),
        (ChannelUnavailable, "bank_channel_unavailable", 503),
        (ForgedNotification, "forged_notification", 401),
        (StaleNotification, "stale_notification", 401),
        (ReplayedNotification, "replayed_notification", 401),
        (MalformedNotification, "malformed_notification", 422),
        (MalformedStatement, "malformed_statement", 422),
        (WeakSigningKey, "weak_signing_key", 422),
    ],
)
def test_every_channel_error_has_a_stable_code_and_status(error: type[PuhuiError], code: str, status: int) -> None:
    assert issubclass(error, BankChannelError) and issubclass(error, PuhuiError)
    assert (error.code, error.status) == (code, status)


# ---------------------------------------------------------------------------------------------
# Notifications


def test_a_notification_body_is_canonical_json_with_money_as_a_decimal_string() -> None:
    body = notification().body()
    document = json.loads(body)
    assert body == json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    assert document["amount"] == "12.34" and document["failure_reason"] is None
    assert document["settled_at"] == "2026-01-05T01:30:00.000000+00:00"


def test_a_notification_reports_a_final_state_with_a_reason_exactly_when_it_failed() -> None:
    with pytest.raises(MalformedNotification):
        notification(state=OrderState.processing)
    with pytest.raises(MalformedNotification):
        notification(state=OrderState.failed)
    with pytest.raises(MalformedNotification):
        notification(failure_reason=FailureReason.declined)
    assert notification(state=OrderState.failed, failure_reason=FailureReason.card_frozen).failure_reason


def test_a_signed_notification_verifies_and_parses_back() -> None:
    sent = notification()
    body, header = sign_notification(sent, KEY)
    assert header.startswith("kid=k1,v1=")
    received = verify_notification(body, header, KEY, sent.notified_at + dt.timedelta(seconds=1))
    assert received == BankNotification(**{**sent.__dict__, "signature": header})


def test_verification_reads_the_installed_clock_by_default(clock: clock.ManualClock) -> None:
    body, header = sign_notification(notification(notified_at=clock.now()), KEY)
    assert verify_notification(body, header, KEY).order_id == "topup-1"
    clock.advance(minutes=6)
    with pytest.raises(StaleNotification):
        verify_notification(body, header, KEY)


def test_a_tampered_body_is_refused() -> None:
    body, header = sign_notification(notification(), KEY)
    tampered = body.replace(b'"12.34"', b'"99.34"')
    assert tampered != body
    with pytest.raises(ForgedNotification):
        verify_notification(tampered, header, KEY, T0)


def test_a_notification_signed_with_another_key_is_refused() -> None:
    body, header = sign_notification(notification(), OTHER_KEY)
    with pytest.raises(ForgedNotification):
        verify_notification(body, header, KEY, T0)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "v1=" + "0" * 64,
        "kid=k1,v1=" + "0" * 63,
        "kid=k1,v2=" + "0" * 64,
        "kid=k1,v1=" + "G" * 64,
        "kid=k1;v1=" + "0" * 64,
        "kid=k1,v1=" + "０" * 64,  # full-width digits are not ASCII hex
    ],
)
def test_a_malformed_signature_header_is_refused(header: str) -> None:
    body, _ = sign_notification(notification(), KEY)
    with pytest.raises(ForgedNotification):
        verify_notification(body, header, KEY, T0)


def test_the_signature_is_compared_as_lower_case_hex_only() -> None:
    body, header = sign_notification(notification(), KEY)
    with pytest.raises(ForgedNotification):
        verify_notification(body, header.upper().replace("KID=K1,V1=", "kid=k1,v1="), KEY, T0)


def test_keys_rotate_by_key_id() -> None:
    keyring = {"k1": KEY, "k2": OTHER_KEY}
    for key_id, key in keyring.items():
        body, header = sign_notification(notification(), key, key_id=key_id)
        assert verify_notification(body, header, keyring, T0).order_id == "topup-1"
    body, header = sign_notification(notification(), OTHER_KEY, key_id="k1")  # right kid, wrong key
    with pytest.raises(ForgedNotification):
        verify_notification(body, header, keyring, T0)
    body, header = sign_notification(notification(), KEY, key_id="k9")
    with pytest.raises(ForgedNotification):
        verify_notification(body, header, keyring, T0)


def test_a_short_key_is_refused() -> None:
    with pytest.raises(WeakSigningKey):
        sign(b"{}", b"short")
    with pytest.raises(WeakSigningKey):
        verify_notification(b"{}", "kid=k1,v1=" + "0" * 64, "short", T0)


@pytest.mark.parametrize(
    "age, refused",
    [
        (dt.timedelta(minutes=5), False),
        (dt.timedelta(minutes=5, microseconds=1), True),
        (dt.timedelta(days=30), True),
        (-dt.timedelta(minutes=1), False),
        (-dt.timedelta(minutes=1, microseconds=1), True),
    ],
)
def test_a_notification_outside_the_time_window_is_stale(age: dt.timedelta, refused: bool) -> None:
    sent = notification()
    body, header = sign_notification(sent, KEY)
    now = sent.notified_at + age
    if refused:
        with pytest.raises(StaleNotification) as caught:
            verify_notification(body, header, KEY, now)
        assert caught.value.code == "stale_notification"
    else:
        assert verify_notification(body, header, KEY, now).nonce == sent.nonce


def test_a_replayed_notification_is_refused_within_the_window() -> None:
    nonces = MemoryNonceCache()
    body, header = sign_notification(notification(), KEY)
    verify_notification(body, header, KEY, T0, nonces=nonces)
    with pytest.raises(ReplayedNotification) as caught:
        verify_notification(body, header, KEY, T0 + dt.timedelta(seconds=10), nonces=nonces)
    assert isinstance(caught.value, StaleNotification)
    # The bank's own duplicate is signed afresh with a new nonce: it verifies (the platform de-duplicates by order).
    again, again_header = sign_notification(notification(nonce="f" * 32), KEY)
    assert verify_notification(again, again_header, KEY, T0, nonces=nonces).order_id == "topup-1"


def test_a_forged_notification_does_not_poison_the_nonce_cache() -> None:
    nonces = MemoryNonceCache()
    body, _ = sign_notification(notification(), KEY)
    with pytest.raises(ForgedNotification):
        verify_notification(body, "kid=k1,v1=" + "0" * 64, KEY, T0, nonces=nonces)
    body, header = sign_notification(notification(), KEY)
    assert verify_notification(body, header, KEY, T0, nonces=nonces)
    assert len(nonces) == 1


def test_the_nonce_cache_forgets_nonces_once_they_could_only_be_stale() -> None:
    nonces = MemoryNonceCache()
    assert nonces.remember("a", T0 + dt.timedelta(minutes=6), T0)
    assert not nonces.remember("a", T0 + dt.timedelta(minutes=6), T0 + dt.timedelta(minutes=1))
    assert nonces.remember("b", T0 + dt.timedelta(minutes=20), T0 + dt.timedelta(minutes=7))
    assert len(nonces) == 1  # "a" expired and was dropped


def test_an_authentic_but_malformed_body_is_refused_as_malformed() -> None:
    for body in (b"[]", b"not json", b'{"order_id": "x"}', b"\xff\xfe"):
        with pytest.raises(MalformedNotification):
            verify_notification(body, sign(body, KEY), KEY, T0)
    document = json.loads(notification().body())
    for field, value in [
        ("currency", "USD"),
        ("amount", "0.00"),
        ("amount", 1234),
        ("settled_at", "2026-01-05T01:30:00"),
    ]:
        body = json.dumps({**document, field: value}).encode()
        with pytest.raises(MalformedNotification):
            verify_notification(body, sign(body, KEY), KEY, T0)


notifications = st.builds(
    notification,
    order_id=st.from_regex(r"\A[A-Za-z0-9._:\-]{1,64}\Z"),
    amount=st.integers(1, 10**12),
    settled_at=st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2100, 1, 1), timezones=st.just(clock.UTC)),
    kind=st.sampled_from(OrderKind),
)


@given(notifications)
def test_any_notification_survives_signing_and_verification(sent: BankNotification) -> None:
    body, header = sign_notification(sent, KEY)
    received = verify_notification(body, header, KEY, sent.notified_at)
    assert received == BankNotification(**{**sent.__dict__, "signature": header})


@given(st.data())
def test_flipping_any_bit_of_a_signed_body_is_detected(data: st.DataObject) -> None:
    body, header = sign_notification(notification(), KEY)
    index = data.draw(st.integers(0, len(body) - 1))
    bit = data.draw(st.integers(0, 7))
    flipped = bytearray(body)
    flipped[index] ^= 1 << bit
    with pytest.raises(ForgedNotification):
        verify_notification(bytes(flipped), header, KEY, T0)


# ---------------------------------------------------------------------------------------------
# Statement files

DAY = dt.date(2026, 1, 5)
GOOD = (
    "bank_reference,order_id,direction,amount,currency,settled_date,value_time\n"
    "SBX2026010500000001,topup-1,credit,12.34,CNY,2026-01-05,2026-01-05T09:30:02.000000+08:00\n"
    "SBX2026010500000002,payout-1,debit,0.01,CNY,2026-01-05,2026-01-05T23:59:59.999999+08:00\n"
)


def test_a_statement_parses_into_lines() -> None:
    lines = parse_statement(GOOD, DAY)
    assert [(x.order_id, x.direction, x.amount, x.signed_amount) for x in lines] == [
        ("topup-1", Direction.credit, 12_34, 12_34),
        ("payout-1", Direction.debit, 1, -1),
    ]
    assert lines[1].value_time == dt.datetime(2026, 1, 5, 15, 59, 59, 999999, tzinfo=clock.UTC)
    assert parse_statement(GOOD.encode()) == lines
    assert format_statement(lines) == GOOD


def test_an_empty_day_has_a_header_only_statement() -> None:
    assert parse_statement(",".join(HEADER) + "\n", DAY) == []
    assert format_statement([]) == ",".join(HEADER) + "\n"


def test_duplicated_lines_are_kept_for_reconciliation_to_find() -> None:
    lines = GOOD.splitlines(keepends=True)
    assert len(parse_statement("".join(lines + [lines[1]]))) == 3


def _replace_field(text: str, line: int, field: int, value: str) -> str:
    rows = text.splitlines()
    cells = rows[line].split(",")
    cells[field] = value
    rows[line] = ",".join(cells)
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize(
    "text, line",
    [
        ("", None),
        ("\n\n", None),
        (GOOD.replace("bank_reference,", "reference,"), 1),
        (GOOD.replace("value_time\n", "value_time,memo\n"), 1),
        (GOOD.replace("CNY,2026-01-05,2026-01-05T09", "CNY,2026-01-05,extra,2026-01-05T09"), 2),
        (GOOD.replace(",credit,", ",,"), 2),
        (_replace_field(GOOD, 1, 0, ""), 2),
        (_replace_field(GOOD, 1, 1, "has space"), 2),
        (_replace_field(GOOD, 1, 2, "in"), 2),
        (_replace_field(GOOD, 1, 2, "CREDIT"), 2),
        (_replace_field(GOOD, 1, 3, "12.3"), 2),
        (_replace_field(GOOD, 1, 3, "12.345"), 2),
        (_replace_field(GOOD, 1, 3, "-12.34"), 2),
        (_replace_field(GOOD, 1, 3, "0.00"), 2),
        (_replace_field(GOOD, 1, 3, "1e3"), 2),
        (_replace_field(GOOD, 1, 3, "1,234.00"), 2),
        (_replace_field(GOOD, 1, 3, "012.34"), 2),
        (_replace_field(GOOD, 1, 3, '"12.34\n"'), 3),
        (_replace_field(GOOD, 2, 4, "USD"), 3),
        (_replace_field(GOOD, 1, 5, "2026/01/05"), 2),
        (_replace_field(GOOD, 1, 5, "2026-02-30"), 2),
        (_replace_field(GOOD, 1, 6, "2026-01-05T09:30:02"), 2),  # naive
        (_replace_field(GOOD, 1, 6, "yesterday"), 2),
        (_replace_field(GOOD, 1, 6, "2026-01-05T16:00:00.000000+00:00"), 2),  # that is 6 January in China
        (_replace_field(GOOD, 2, 5, "2026-01-06"), 3),  # the date disagrees with the value time
        (GOOD + "\n" + GOOD.splitlines()[1] + "\n", 4),  # a blank line
        (GOOD + 'SBX3,"unterminated,credit,1.00,CNY,2026-01-05,2026-01-05T09:30:02+08:00\n', 4),
    ],
)
def test_a_malformed_statement_is_refused_with_its_line(text: str, line: int | None) -> None:
    with pytest.raises(MalformedStatement) as caught:
        parse_statement(text)
    assert caught.value.code == "malformed_statement"
    assert caught.value.line == line


def test_a_statement_of_another_day_or_not_utf8_is_refused() -> None:
    with pytest.raises(MalformedStatement) as caught:
        parse_statement(GOOD, dt.date(2026, 1, 6))
    assert caught.value.line == 2
    with pytest.raises(MalformedStatement):
        parse_statement(GOOD.encode("utf-16"))


def test_a_china_business_day_runs_from_midnight_to_midnight_china_time() -> None:
    start, end = clock.day_bounds(DAY)
    assert clock.from_micros(start) == dt.datetime(2026, 1, 4, 16, tzinfo=clock.UTC)
    assert clock.from_micros(end) == dt.datetime(2026, 1, 5, 16, tzinfo=clock.UTC)


statement_lines = st.builds(
    lambda reference, order_id, direction, amount, when: StatementLine(
        reference, order_id, direction, amount, "CNY", when.astimezone(clock.CHINA).date(), when
    ),
    st.from_regex(r"\A[A-Za-z0-9._:\-]{1,64}\Z"),
    st.from_regex(r"\A[A-Za-z0-9._:\-]{1,64}\Z"),
    st.sampled_from(Direction),
    st.integers(1, 10**15),
    st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2100, 1, 1), timezones=st.just(clock.UTC)),
)


@given(st.lists(statement_lines, max_size=20))
def test_any_statement_survives_formatting_and_parsing(lines: list[StatementLine]) -> None:
    assert parse_statement(format_statement(lines)) == lines


def test_the_acknowledgement_is_a_plain_value() -> None:
    assert Acknowledgement("o", "r", T0) == Acknowledgement("o", "r", T0)
