"""Identity operations inside units of work, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from puhui.db import reading, transaction
from puhui.db.tables import outbox
from puhui.identity import consent, kyc, pii, retention, service, views
from puhui.identity import customers as customer_ops
from puhui.identity.errors import (
    AlreadyRegistered,
    CardAlreadyBound,
    CustomerClosed,
    InsufficientVerifications,
    PhoneTaken,
    TierNotHigher,
    VerificationExists,
    WalletNotEmpty,
)
from puhui.identity.models import ConsentPurpose, VerificationChannel, WalletTier
from puhui.identity.tables import (
    aml_retention_cards,
    bank_cards,
    customers,
    tier_changes,
)
from puhui.identity.vault import Vault
from puhui.ledger import service as ledger
from puhui.ledger.models import AccountFlags, Transfer, TransferFlags, TransferResult
from puhui.ledger.tables import accounts, transfers

from .helpers import CARD, INDEX_KEY, K1, K2, LI, ZHANG, snapshot

RESERVE = "platform.reserve_bank.CNY"


@dataclass(frozen=True)
class Who:
    id: str
    role: str


OPERATOR = Who("stf_op", "operator")


def registered(engine, vault, person=ZHANG) -> str:
    data = customer_ops.prepare_registration(
        **{k: person[k] for k in ("name", "id_number", "phone", "password")}, address=person.get("address")
    )
    return transaction(engine, lambda uow: customer_ops.register(uow, vault, data))


def verify(engine, customer_id, *channels, passed=True):
    for channel in channels:
        transaction(
            engine,
            lambda uow: kyc.record_verification(
                uow,
                customer_id,
                VerificationChannel(channel),
                f"ref-{customer_id}-{channel}-{passed}",
                passed,
                OPERATOR,
            ),
        )


def move(engine, transfer_id, debit, credit, amount, flags=TransferFlags.NONE):
    results = transaction(
        engine,
        lambda uow: ledger.create_transfers(
            uow,
            [
                Transfer(
                    transfer_id,
                    debit,
                    credit,
                    amount,
                    "CNY",
                    "topup",
                    flags=flags,
                    timeout_seconds=3600 if flags & TransferFlags.pending else 0,
                )
            ],
        ),
    )
    assert results == [TransferResult.ok]


def test_registration_opens_a_sealed_customer_and_a_wallet(engine, clock, vault):
    customer_id = registered(engine, vault)
    with reading(engine) as connection:
        row = connection.execute(select(customers).where(customers.c.id == customer_id)).mappings().one()
        wallet = ledger.require_account(connection, f"wallet.{customer_id}")
        events = connection.execute(select(outbox.c.payload).where(outbox.c.topic == "identity")).scalars().all()
        assert kyc.tier_of(connection, customer_id) is None
    assert row["status"] == "active" and row["wallet_account_id"] == wallet.id
    assert wallet.code == "customer_wallet" and wallet.owner_id == customer_id and wallet.ledger == "CNY"
    assert wallet.flags == AccountFlags.debits_must_not_exceed_credits
    stored = json.dumps({k: v for k, v in row.items()}, ensure_ascii=False)
    for clear in (ZHANG["name"], ZHANG["id_number"], ZHANG["phone"], ZHANG["address"], ZHANG["password"]):
        assert clear not in stored
    assert row["password_hash"].startswith("$argon2id$")
    assert customer_ops.open_fields(vault, row) == {k: ZHANG[k] for k in ("name", "id_number", "phone", "address")}
    assert events and all(ZHANG["phone"] not in e and ZHANG["name"] not in e for e in events)


def test_one_person_one_customer_and_one_phone_one_customer(engine, clock, vault):
    registered(engine, vault)
    before = snapshot(engine)
    with pytest.raises(AlreadyRegistered):
        registered(engine, vault, {**LI, "id_number": ZHANG["id_number"]})
    with pytest.raises(PhoneTaken):
        registered(engine, vault, {**LI, "phone": ZHANG["phone"]})
    assert snapshot(engine) == before
    registered(engine, vault, LI)


def test_bank_cards_bind_once(engine, clock, vault):
    zhang, li = registered(engine, vault), registered(engine, vault, LI)
    card_id = transaction(engine, lambda uow: customer_ops.bind_card(uow, vault, zhang, CARD, "ICBC"))
    with pytest.raises(CardAlreadyBound):
        transaction(engine, lambda uow: customer_ops.bind_card(uow, vault, li, CARD))
    with reading(engine) as connection:
        cards = customer_ops.cards_of(connection, vault, zhang)
        row = connection.execute(select(bank_cards)).mappings().one()
    assert [(c["id"], c["card_number"], c["bank"]) for c in cards] == [(card_id, CARD, "ICBC")]
    assert CARD not in json.dumps(dict(row))


def test_independent_verifications_and_tier_upgrades(engine, clock, vault):
    customer_id = registered(engine, vault)
    with pytest.raises(InsufficientVerifications):
        transaction(engine, lambda uow: kyc.upgrade_tier(uow, customer_id, OPERATOR, "no checks yet"))
    verify(engine, customer_id, "public_security", "bank_card", passed=False)  # failures do not count
    verify(engine, customer_id, "public_security")
    with pytest.raises(VerificationExists):  # one channel reference, recorded once
        verify(engine, customer_id, "public_security")
    with reading(engine) as connection:
        assert kyc.eligible_tier(connection, customer_id) == WalletTier.I
    change = transaction(engine, lambda uow: kyc.upgrade_tier(uow, customer_id, OPERATOR, "ID checked"))
    assert (change["from"], change["to"], change["by"]) == (None, "I", "stf_op")
    verify(engine, customer_id, "bank_card", "face")
    with pytest.raises(InsufficientVerifications) as caught:
        transaction(engine, lambda uow: kyc.upgrade_tier(uow, customer_id, OPERATOR, "why not", WalletTier.III))
    assert caught.value.extra == {"passed": 3, "required": 5}
    transaction(engine, lambda uow: kyc.upgrade_tier(uow, customer_id, OPERATOR, "three channels"))
    with pytest.raises(TierNotHigher):
        transaction(engine, lambda uow: kyc.upgrade_tier(uow, customer_id, OPERATOR, "again", WalletTier.I))
    verify(engine, customer_id, "mobile_operator", "tax")
    transaction(engine, lambda uow: kyc.upgrade_tier(uow, customer_id, OPERATOR, "five channels", WalletTier.III))
    with reading(engine) as connection:
        assert service.tier_of(connection, customer_id) == WalletTier.III
        history = connection.execute(
            select(
                tier_changes.c.from_tier,
                tier_changes.c.to_tier,
                tier_changes.c.reason,
                tier_changes.c.changed_by,
                tier_changes.c.changed_by_role,
            ).order_by(tier_changes.c.seq)
        ).all()
    assert [tuple(r) for r in history] == [
        (None, 1, "ID checked", "stf_op", "operator"),
        (1, 2, "three channels", "stf_op", "operator"),
        (2, 3, "five channels", "stf_op", "operator"),
    ]


def test_consent_latest_wins_and_sensitive_is_separate(engine, clock, vault):
    customer_id = registered(engine, vault)
    me = Who(customer_id, "customer")

    def record(purpose, granted, sensitive=False):
        transaction(
            engine,
            lambda uow: consent.record_consent(
                uow, customer_id, purpose, granted=granted, sensitive=sensitive, actor=me
            ),
        )

    def has(purpose, sensitive=False):
        with reading(engine) as connection:
            return consent.has_consent(connection, customer_id, purpose, sensitive=sensitive)

    assert not has(ConsentPurpose.credit_scoring)
    record(ConsentPurpose.credit_scoring, True)
    assert has(ConsentPurpose.credit_scoring) and not has(ConsentPurpose.credit_scoring, sensitive=True)
    record(ConsentPurpose.biometrics, True, sensitive=True)
    assert has(ConsentPurpose.biometrics, sensitive=True) and not has(ConsentPurpose.biometrics)
    record(ConsentPurpose.credit_scoring, False)
    assert not has(ConsentPurpose.credit_scoring)
    record(ConsentPurpose.credit_scoring, True)
    assert has(ConsentPurpose.credit_scoring)
    with reading(engine) as connection:
        history = consent.consent_history(connection, customer_id)
        current = consent.current_consents(connection, customer_id)
    assert len(history) == 4
    assert {(c["purpose"], c["sensitive"], c["granted"]) for c in current} == {
        ("credit_scoring", False, True),
        ("biometrics", True, True),
    }


def test_closing_refuses_while_the_wallet_holds_money(engine, clock, vault):
    customer_id = registered(engine, vault)
    wallet = f"wallet.{customer_id}"
    move(engine, "topup.1", RESERVE, wallet, 500)
    before = snapshot(engine)
    with pytest.raises(WalletNotEmpty) as caught:
        transaction(engine, lambda uow: customer_ops.close(uow, customer_id, OPERATOR))
    assert caught.value.code == "wallet_not_empty" and caught.value.status == 409
    assert snapshot(engine) == before
    move(engine, "hold.1", wallet, RESERVE, 500, TransferFlags.pending)  # a pending withdrawal still blocks
    with pytest.raises(WalletNotEmpty):
        transaction(engine, lambda uow: customer_ops.close(uow, customer_id, OPERATOR))
    results = transaction(
        engine,
        lambda uow: ledger.create_transfers(
            uow, [Transfer("post.1", pending_id="hold.1", flags=TransferFlags.post_pending)]
        ),
    )
    assert results == [TransferResult.ok]
    transaction(engine, lambda uow: customer_ops.close(uow, customer_id, OPERATOR, "customer asked"))


def test_closure_erases_personal_data_but_keeps_financial_records(engine, clock, vault):
    customer_id = registered(engine, vault)
    transaction(engine, lambda uow: customer_ops.bind_card(uow, vault, customer_id, CARD))
    verify(engine, customer_id, "public_security")
    wallet = f"wallet.{customer_id}"
    move(engine, "in.1", RESERVE, wallet, 1234)
    move(engine, "out.1", wallet, RESERVE, 1234)
    pseudonym = transaction(engine, lambda uow: customer_ops.close(uow, customer_id, OPERATOR, "bye"))
    assert pseudonym.startswith("已注销用户-")
    with reading(engine) as connection:
        row = connection.execute(select(customers).where(customers.c.id == customer_id)).mappings().one()
        card = connection.execute(select(bank_cards)).mappings().one()
        account = ledger.require_account(connection, wallet)
        moved = connection.execute(select(func.count()).select_from(transfers)).scalar_one()
        view = views.customer_view(connection, vault, customer_id)
        with pytest.raises(CustomerClosed):
            customer_ops.require_active(connection, customer_id)
    erased = (
        "name_sealed",
        "id_number_sealed",
        "id_number_index",
        "phone_sealed",
        "phone_index",
        "address_sealed",
        "password_hash",
    )
    assert all(row[c] is None for c in erased) and row["status"] == "closed" and row["pseudonym"] == pseudonym
    assert card["card_sealed"] is None and card["card_index"] is None and card["status"] == "erased"
    assert account.closed and account.credits_posted == 1234 and account.debits_posted == 1234 and moved == 2
    assert view["name"] == pseudonym and view["id_number"] is None and view["phone"] is None
    assert len(view["verifications"]) == 1  # the KYC trail stays (no personal values in it)
    # the identity data is kept, sealed, for the AML retention period, then erased
    with reading(engine) as connection:
        kept = retention.retained(connection, customer_id)
        kept_cards = connection.execute(select(aml_retention_cards)).mappings().all()
    assert vault.open(kept["id_number_sealed"], field=pii.FIELD_ID_NUMBER, owner=customer_id) == ZHANG["id_number"]
    assert (
        vault.open(
            kept_cards[0]["card_sealed"],
            field=pii.FIELD_CARD,
            owner=pii.card_owner(customer_id, kept_cards[0]["card_id"]),
        )
        == CARD
    )
    clock.advance(days=365 * 5)
    assert transaction(engine, retention.purge_expired) == 0  # five years are not over yet (a leap day)
    clock.advance(days=2)
    assert transaction(engine, retention.purge_expired) == 1
    with reading(engine) as connection:
        assert retention.retained(connection, customer_id) is None
        assert connection.execute(select(func.count()).select_from(aml_retention_cards)).scalar_one() == 0
    # the person may come back as a new customer: the blind indexes are gone
    assert registered(engine, vault) != customer_id


def test_key_rotation_reseals_rows_under_old_keys(engine, clock, vault):
    zhang, li = registered(engine, vault), registered(engine, vault, LI)
    transaction(engine, lambda uow: customer_ops.bind_card(uow, vault, zhang, CARD))
    rotated = Vault.from_config(f"k2:{K2},k1:{K1}", INDEX_KEY)
    with reading(engine) as connection:
        assert pii.key_usage(connection, rotated) == {"k1": 4 + 3 + 1}  # Li has no address
        before = {c: views.customer_view(connection, rotated, c, reveal=True) for c in (zhang, li)}
    report = pii.rotate_keys(engine, rotated, batch_size=1)
    assert (report.rows, report.resealed) == (3, 8)
    assert report.by_table == {
        "customers": 7,
        "bank_cards": 1,
        "merchants": 0,
        "aml_retention": 0,
        "aml_retention_cards": 0,
    }
    only_k2 = Vault.from_config(f"k2:{K2}", INDEX_KEY)
    with reading(engine) as connection:
        assert pii.key_usage(connection, only_k2) == {"k2": 8}
        after = {c: views.customer_view(connection, only_k2, c, reveal=True) for c in (zhang, li)}
    assert after == before and after[zhang]["id_number"] == ZHANG["id_number"]
    assert pii.rotate_keys(engine, only_k2).resealed == 0  # rerunning is a no-op
    # log-in lookups still work: the blind index key did not rotate
    with reading(engine) as connection:
        assert customer_ops.find_by_phone(connection, only_k2, ZHANG["phone"])["id"] == zhang


def test_blind_index_key_rotation(engine, clock, vault):
    """A new index key goes first ("new,old"): lookups find rows under either key, `reindex` moves
    every index to the new key, after which the old key can be dropped and nothing is lost."""
    zhang = registered(engine, vault)
    transaction(engine, lambda uow: customer_ops.bind_card(uow, vault, zhang, CARD))
    new_index = base64.urlsafe_b64encode(b"n" * 32).decode()
    both = Vault.from_config(f"k1:{K1}", f"{new_index},{INDEX_KEY}")
    with reading(engine) as connection:
        assert customer_ops.find_by_phone(connection, both, ZHANG["phone"])["id"] == zhang
    with pytest.raises(AlreadyRegistered):  # one person, one customer, across the two keys
        transaction(
            engine,
            lambda uow: customer_ops.register(
                uow,
                both,
                customer_ops.prepare_registration(**{k: ZHANG[k] for k in ("name", "id_number", "phone", "password")}),
            ),
        )
    assert pii.reindex(engine, both, batch_size=1) == 3  # phone, ID number, card
    assert pii.reindex(engine, both) == 0
    only_new = Vault.from_config(f"k1:{K1}", new_index)
    with reading(engine) as connection:
        assert customer_ops.find_by_phone(connection, only_new, ZHANG["phone"])["id"] == zhang
        assert (
            customer_ops.find_by_phone(connection, vault, ZHANG["phone"]) is None
        )  # the old key alone no longer finds
    with pytest.raises(CardAlreadyBound):
        transaction(engine, lambda uow: customer_ops.bind_card(uow, only_new, zhang, CARD))


def test_key_rotation_reaches_the_aml_retention_tables(engine, clock, vault):
    li = registered(engine, vault, LI)
    transaction(engine, lambda uow: customer_ops.bind_card(uow, vault, li, CARD))
    transaction(engine, lambda uow: customer_ops.close(uow, li, OPERATOR, "bye"))
    report = pii.rotate_keys(engine, Vault.from_config(f"k2:{K2},k1:{K1}", INDEX_KEY))
    assert report.by_table["aml_retention"] == 3 and report.by_table["aml_retention_cards"] == 1  # Li has no address
    only_k2 = Vault.from_config(f"k2:{K2}", INDEX_KEY)
    with reading(engine) as connection:
        assert pii.key_usage(connection, only_k2) == {"k2": 4}
        kept = retention.retained(connection, li)
    assert only_k2.open(kept["phone_sealed"], field=pii.FIELD_PHONE, owner=li) == LI["phone"]


def test_concurrent_registrations_of_one_person_make_one_customer(engine, clock, vault):
    """Racing sign-ups (double-clicks, retries) with the same ID number: one customer, one wallet."""
    import threading

    data = customer_ops.prepare_registration(**{k: ZHANG[k] for k in ("name", "id_number", "phone", "password")})
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def sign_up() -> None:
        barrier.wait()
        try:
            transaction(engine, lambda uow: customer_ops.register(uow, vault, data))
            outcomes.append("ok")
        except AlreadyRegistered:
            outcomes.append("duplicate")
        except Exception as error:  # noqa: BLE001 - shown by the assertion below
            outcomes.append(repr(error))

    threads = [threading.Thread(target=sign_up) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["duplicate"] * 5 + ["ok"]
    with reading(engine) as connection:
        assert connection.execute(select(func.count()).select_from(customers)).scalar_one() == 1
        wallets = connection.execute(
            select(func.count()).select_from(accounts).where(accounts.c.code == "customer_wallet")
        ).scalar_one()
    assert wallets == 1
