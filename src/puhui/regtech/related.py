"""Lenders' related parties (关联方): whom the self-financing rule (自融) watches loan proceeds flow to.

A lender is "platform" (the platform's own lending) or a funding partner's id; a related party is
any customer or merchant id (shareholders, group companies, staff). Compliance registers them;
the monitor picks changes up at its next batch.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError
from sqlalchemy import Connection, delete, select

from puhui import clock
from puhui.db import UnitOfWork
from puhui.regtech.errors import RelatedPartyExists, RelatedPartyInvalid, RelatedPartyNotFound
from puhui.regtech.tables import related_parties

Ident = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]


class RelatedPartyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    lender: Ident
    party: Ident
    relation: Annotated[str, StringConstraints(min_length=1, max_length=32)] = "affiliate"


def parse(body: object) -> RelatedPartyIn:
    try:
        given = RelatedPartyIn.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        raise RelatedPartyInvalid(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
    if given.lender == given.party:
        raise RelatedPartyInvalid("a lender is not its own related party")
    return given


def add(uow: UnitOfWork, body: object, actor: str) -> dict:
    given = parse(body)
    exists = uow.execute(
        select(related_parties.c.party).where(
            related_parties.c.lender == given.lender, related_parties.c.party == given.party
        )
    ).first()
    if exists:
        raise RelatedPartyExists(f"{given.party} is already registered for {given.lender}")
    uow.execute(
        related_parties.insert().values(
            lender=given.lender,
            party=given.party,
            relation=given.relation,
            created_at=clock.now_micros(),
            created_by=actor,
        )
    )
    return {"lender": given.lender, "party": given.party, "relation": given.relation}


def remove(uow: UnitOfWork, lender: str, party: str) -> dict:
    done = uow.execute(
        delete(related_parties).where(related_parties.c.lender == lender, related_parties.c.party == party)
    )
    if done.rowcount != 1:
        raise RelatedPartyNotFound(f"{party} is not registered for {lender}")
    return {"lender": lender, "party": party, "removed": True}


def listing(connection: Connection, lender: str | None = None) -> list[dict]:
    query = select(related_parties)
    if lender is not None:
        query = query.where(related_parties.c.lender == lender)
    rows = connection.execute(query.order_by(related_parties.c.lender, related_parties.c.party)).mappings()
    return [
        {
            "lender": r["lender"],
            "party": r["party"],
            "relation": r["relation"],
            "created_at": clock.from_micros(r["created_at"]).isoformat(),
            "created_by": r["created_by"],
        }
        for r in rows
    ]
