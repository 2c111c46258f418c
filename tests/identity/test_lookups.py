"""Identity's small reads for the console: the active customer with a mobile number (by its blind index,
to pay someone by phone) and staff members' handles (to name the signed-in staff member)."""

from __future__ import annotations

from dataclasses import dataclass

from puhui.db import reading, transaction
from puhui.identity import customers as customer_ops
from puhui.identity import org
from puhui.identity.queries import active_customer_by_phone, staff_handles
from puhui.identity.vault import Vault

from .helpers import INDEX_KEY, K1, LI, ZHANG


@dataclass(frozen=True)
class Admin:
    id: str = "admin"
    role: str = "admin"


def _register(engine, vault, person: dict) -> str:  # type: ignore[no-untyped-def]
    data = customer_ops.prepare_registration(**{k: person[k] for k in ("name", "id_number", "phone", "password")})
    return transaction(engine, lambda uow: customer_ops.register(uow, vault, data))


def test_the_active_customer_with_a_phone_is_found_by_its_blind_index(engine, clock, vault) -> None:  # type: ignore[no-untyped-def]
    zhang, li = _register(engine, vault, ZHANG), _register(engine, vault, LI)
    with reading(engine) as connection:
        assert active_customer_by_phone(connection, vault, ZHANG["phone"]) == zhang
        assert active_customer_by_phone(connection, vault, "+86 139-9876-5432") == li
        assert active_customer_by_phone(connection, vault, "13700000000") is None
        assert active_customer_by_phone(connection, vault, "12345") is None  # not a mobile number
        other_key = Vault.from_config(f"k1:{K1}", "b" * 43 + "=")
        assert active_customer_by_phone(connection, other_key, ZHANG["phone"]) is None  # keyed, not a plain hash
        assert active_customer_by_phone(connection, Vault.from_config(f"k1:{K1}", INDEX_KEY), LI["phone"]) == li
    transaction(engine, lambda uow: customer_ops.close(uow, li, Admin(), "test"))
    with reading(engine) as connection:
        assert active_customer_by_phone(connection, vault, LI["phone"]) is None  # a closed customer is not paid


def test_staff_handles_name_staff_members_only(engine, clock) -> None:  # type: ignore[no-untyped-def]
    made, _token = transaction(engine, lambda uow: org.create_staff(uow, "regulator.one", "regulator", Admin()))
    with reading(engine) as connection:
        assert staff_handles(connection, [made, "cus_nobody", ""]) == {made: "regulator.one"}
        assert staff_handles(connection, []) == {}
