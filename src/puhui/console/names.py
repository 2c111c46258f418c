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
from puhui.identity.queries import party_names
from puhui.identity.vault import Vault


def _vault(request: Request) -> Vault | None:
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
    return await run_in_threadpool(_read, request.app.state.engine, _vault(request), wanted)


def named(party: str | None, names: Mapping[str, str]) -> Markup | str:
    """A table cell for an id: its name with the id under it (staff search by the id), or the id alone
    when it names no customer or merchant."""
    if not party:
        return "—"
    name = names.get(party)
    if name is None:
        return party
    return Markup('{}<br><span class="mono">{}</span>').format(escape(name), escape(party))
