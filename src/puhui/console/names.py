"""Who an id on a staff page is (参与方名称): a customer's name masked as the platform masks personal
information on output (`identity.models.mask_name`: `*三丰`), a merchant's trading name in full (a
business, not a person), looked up once for all the ids of a page (two queries, whatever the rows).

The names come from identity's batch query (`identity.queries.party_names`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from markupsafe import Markup, escape
from sqlalchemy import Engine

from puhui.db import reading
from puhui.identity import pii
from puhui.identity.errors import VaultError
from puhui.identity.queries import party_names, staff_handles
from puhui.identity.vault import Vault


def vault_of(request: Request) -> Vault | None:
    """The app's PII vault (None when no key is configured)."""
    try:
        return pii.vault_for(request.app.state.settings)
    except VaultError:
        return None


def _read(engine: Engine, vault: Vault | None, ids: list[str]) -> dict[str, str]:
    with reading(engine) as connection:
        return party_names(connection, vault, ids)


async def names_of(request: Request, ids: Iterable[str]) -> dict[str, str]:
    """`party_names` of the ids a page lists, read off the event loop."""
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    return await run_in_threadpool(_read, request.app.state.engine, vault_of(request), wanted)


def _staff_handle(engine: Engine, staff_id: str) -> str | None:
    with reading(engine) as connection:
        return staff_handles(connection, [staff_id]).get(staff_id)


async def viewer_name(request: Request, viewer_id: str, role: str) -> str | None:
    """The name a staff page's header shows for who is signed in: a merchant's trading name, a staff
    member's handle (`regulator.demo`), or None (the operator's admin token is no one by name)."""
    if role == "merchant":
        return (await names_of(request, [viewer_id])).get(viewer_id)
    return await run_in_threadpool(_staff_handle, request.app.state.engine, viewer_id)


def named(party: str | None, names: Mapping[str, str]) -> Markup | str:
    """A table cell for an id: its name with the id under it (staff search by the id), or the id alone
    when it names no customer or merchant."""
    if not party:
        return "—"
    name = names.get(party)
    if name is None:
        return party
    return Markup('{}<br><span class="mono">{}</span>').format(escape(name), escape(party))
