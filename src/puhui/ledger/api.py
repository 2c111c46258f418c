"""`/v1/ledger`: accounts, transfers and history (admin API). Thin: parse, call the service, render."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from sqlalchemy import Connection, Engine, select

from puhui import clock
from puhui.api.deps import (
    MAX_CURSOR,
    Admin,
    EngineDep,
    Principal,
)
from puhui.api.fields import AS_WHOLE_NUMBER
from puhui.api.mutations import Outcome, run_mutation
from puhui.api.problems import PROBLEM_BASE
from puhui.api.reads import read as _read
from puhui.db import UnitOfWork
from puhui.errors import InvalidInput, NotFound
from puhui.ledger import service
from puhui.ledger.errors import BatchTooLarge
from puhui.ledger.models import (
    ID_MAX_LENGTH,
    MAX_BATCH,
    USER_DATA_MAX_LENGTH,
    Account,
    AccountFlags,
    AccountResult,
    Balances,
    Transfer,
    TransferFlags,
)
from puhui.ledger.schemas import Chart, LedgerAccount, LedgerAccounts, LedgerTransfer, LedgerTransfers, TransferOutcomes
from puhui.ledger.tables import account_codes, accounts
from puhui.money import InvalidAmount, format_minor, parse_minor

router = APIRouter(prefix="/v1/ledger", tags=["ledger"])

_Flags = TypeVar("_Flags", AccountFlags, TransferFlags)

IdStr = Annotated[StrictStr, Field(min_length=1, max_length=ID_MAX_LENGTH, pattern=r"^[A-Za-z0-9._:\-]+$")]
AmountStr = Annotated[
    StrictStr,
    Field(
        max_length=40,
        pattern=r"^[0-9]+(\.[0-9]+)?$",
        examples=["12.34"],
        json_schema_extra={"pattern": r"^(0*[1-9][0-9]*(\.[0-9]+)?|0+\.[0-9]*[1-9][0-9]*)$"},
        description="greater than zero, with at most as many places as the ledger's scale (CNY: 2)",
    ),
]


_OPENABLE = [f.name for f in AccountFlags if f.name and f is not AccountFlags.closed]
OpenableFlag = Annotated[StrictStr, Field(json_schema_extra={"enum": _OPENABLE})]
"""An account flag an account may be opened with (it cannot be opened closed)."""


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: IdStr | None = None
    ledger: Annotated[StrictStr, Field(min_length=1, max_length=16)]
    code: Annotated[StrictStr, Field(min_length=1, max_length=48)]
    owner_id: IdStr | None = None
    flags: list[OpenableFlag] = []


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: IdStr
    debit_account_id: IdStr | None = None
    credit_account_id: IdStr | None = None
    amount: AmountStr | None = Field(None, description="Decimal string in the ledger's unit; omit to post a whole hold")
    ledger: Annotated[StrictStr, Field(min_length=1, max_length=16)] | None = None
    code: Annotated[StrictStr, Field(min_length=1, max_length=48)] | None = None
    flags: list[Annotated[StrictStr, Field(json_schema_extra={"enum": [f.name for f in TransferFlags if f.name]})]] = []
    pending_id: IdStr | None = None
    timeout_seconds: Annotated[StrictInt, Field(ge=0, le=2**31 - 1), AS_WHOLE_NUMBER] = 0
    user_data: Annotated[StrictStr, Field(max_length=USER_DATA_MAX_LENGTH)] | None = None


class TransfersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    transfers: list[TransferIn]


class InvalidFlag(InvalidInput):
    code = "invalid_flag"
    title = "Unknown flag"


class TransferNotFound(NotFound):
    code = "transfer_not_found"
    title = "Transfer not found"


def account_json(account: Account, scale: int, balances: Balances | None = None) -> dict[str, Any]:
    b = balances or account.balances
    return {
        "id": account.id,
        "ledger": account.ledger,
        "code": account.code,
        "owner_id": account.owner_id,
        "flags": account.flags.names(),
        "debits_pending": format_minor(b.debits_pending, scale),
        "debits_posted": format_minor(b.debits_posted, scale),
        "credits_pending": format_minor(b.credits_pending, scale),
        "credits_posted": format_minor(b.credits_posted, scale),
    }


def _flags(kind: type[_Flags], names: list[str]) -> _Flags:
    try:
        return kind.parse(names)
    except ValueError as error:
        raise InvalidFlag(str(error), allowed=[f.name for f in kind if f.value]) from None


# -- accounts ---------------------------------------------------------------------------------


@router.post("/accounts", status_code=201, summary="Open an account", response_model=LedgerAccount)
async def create_account(body: AccountIn, request: Request, engine: EngineDep, principal: Admin) -> Response:
    flags = _flags(AccountFlags, body.flags)

    def work(uow: UnitOfWork) -> Outcome:
        result, account = service.create_account(
            uow, ledger=body.ledger, code=body.code, owner_id=body.owner_id, flags=flags, id=body.id
        )
        scale = service.ledger_of(uow.connection, account.ledger).scale
        if result == AccountResult.ok:
            return Outcome(201, LedgerAccount.shape(account_json(account, scale)))
        if result == AccountResult.exists:
            return Outcome(200, LedgerAccount.shape(account_json(account, scale)))
        return Outcome(409, _problem_body(409, result.value, "Account exists with different fields", request), True)

    return await run_mutation(request, engine, principal, "ledger.create_account", body.id, work)


@router.get(
    "/accounts",
    summary="List accounts, a page at a time",
    response_model=LedgerAccounts,
    response_model_exclude_unset=True,
)
async def list_accounts(
    engine: EngineDep,
    _: Admin,
    owner_id: str | None = None,
    code: str | None = None,
    after: str | None = Query(None, description="cursor: the last account id of the previous page"),
    limit: int = Query(100, ge=1, le=1000),
) -> dict[str, Any]:
    def read(connection: Connection) -> dict[str, Any]:
        query = select(accounts).order_by(accounts.c.id).limit(limit)
        if owner_id:
            query = query.where(accounts.c.owner_id == owner_id)
        if code:
            query = query.where(accounts.c.code == code)
        if after:
            query = query.where(accounts.c.id > after)
        scales = {c: ledger.scale for c, ledger in service.ledgers_of(connection).items()}
        found = [service.account_from_row(row) for row in connection.execute(query).mappings()]
        items = [account_json(a, scales[a.ledger]) for a in found]
        return {"accounts": items, "next": items[-1]["id"] if len(items) == limit else None}

    return await _read(engine, read)


@router.get(
    "/accounts/{account_id}",
    summary="An account and its balances, now or as of a past time",
    response_model=LedgerAccount,
    response_model_exclude_unset=True,
)
async def get_account(
    account_id: str,
    engine: EngineDep,
    _: Admin,
    as_of: dt.datetime | None = Query(None, description="ISO 8601 time with zone; balances as they stood then"),
) -> dict[str, Any]:
    def read(connection: Connection) -> dict[str, Any]:
        account = service.require_account(connection, account_id)
        scale = service.ledger_of(connection, account.ledger).scale
        if as_of is None:
            return account_json(account, scale)
        if as_of.tzinfo is None:
            raise InvalidInput("as_of needs a time zone, e.g. 2026-01-05T10:00:00+08:00")
        balances = service.balance_as_of(connection, account_id, clock.to_micros(as_of))
        return {**account_json(account, scale, balances), "as_of": as_of.isoformat()}

    return await _read(engine, read)


@router.post("/accounts/{account_id}/close", summary="Close an account to new transfers", response_model=LedgerAccount)
async def close_account(account_id: str, request: Request, engine: EngineDep, principal: Admin) -> Response:
    return await _set_closed(account_id, True, request, engine, principal)


@router.post("/accounts/{account_id}/reopen", summary="Reopen a closed account", response_model=LedgerAccount)
async def reopen_account(account_id: str, request: Request, engine: EngineDep, principal: Admin) -> Response:
    return await _set_closed(account_id, False, request, engine, principal)


async def _set_closed(
    account_id: str, closed: bool, request: Request, engine: Engine, principal: Principal
) -> Response:
    def work(uow: UnitOfWork) -> Outcome:
        account = service.set_account_closed(uow, account_id, closed)
        scale = service.ledger_of(uow.connection, account.ledger).scale
        return Outcome(200, LedgerAccount.shape(account_json(account, scale)))

    action = "ledger.close_account" if closed else "ledger.reopen_account"
    return await run_mutation(request, engine, principal, action, account_id, work)


@router.get(
    "/accounts/{account_id}/transfers", summary="An account's transfers in ledger order", response_model=LedgerTransfers
)
async def account_transfers(
    account_id: str,
    engine: EngineDep,
    _: Admin,
    after: int | None = Query(
        None, ge=0, le=MAX_CURSOR, description="cursor: `seq` of the last transfer of the previous page"
    ),
    limit: int = Query(100, ge=1, le=1000),
) -> dict[str, Any]:
    def read(connection: Connection) -> dict[str, Any]:
        service.require_account(connection, account_id)
        page = service.account_history(connection, account_id, after_seq=after, limit=limit)
        scales = {c: ledger.scale for c, ledger in service.ledgers_of(connection).items()}
        items = [{**service.transfer_json(t, scales[t.ledger]), "seq": t.seq} for t in page]
        return {"transfers": items, "next": page[-1].seq if len(page) == limit else None}

    return await _read(engine, read)


# -- transfers --------------------------------------------------------------------------------


@router.post(
    "/transfers", summary="Create transfers: one or a batch of up to 8,190, one commit", response_model=TransferOutcomes
)
async def create_transfers(body: TransfersIn, request: Request, engine: EngineDep, principal: Admin) -> Response:
    """Each transfer gets its own result (`ok`, `exists`, `exceeds_credits`, ...). The answer is
    200 when every transfer is in the ledger as asked, 422 (a problem carrying `results`) when none
    is, and 207 when some are: read `results` then."""
    if len(body.transfers) > MAX_BATCH:
        raise BatchTooLarge(f"a batch holds at most {MAX_BATCH} transfers, got {len(body.transfers)}")
    flags = [_flags(TransferFlags, t.flags) for t in body.transfers]

    def work(uow: UnitOfWork) -> Outcome:
        batch = [_transfer(uow.connection, t, f) for t, f in zip(body.transfers, flags)]
        results = service.create_transfers(uow, batch)
        listed = [{"id": t.id, "result": r.value} for t, r in zip(batch, results)]
        succeeded = sum(r.succeeded for r in results)
        if succeeded == len(results):
            return Outcome(200, TransferOutcomes.shape({"results": listed}))
        if succeeded:
            return Outcome(207, TransferOutcomes.shape({"results": listed}))
        first = next(r for r in results if not r.succeeded)
        detail = f"no transfer was applied; first failure: {first.value}"
        problem = _problem_body(422, "transfers_rejected", "Transfers rejected", request, detail, listed)
        return Outcome(422, problem, True)

    return await run_mutation(request, engine, principal, "ledger.create_transfers", None, work)


@router.get("/transfers/{transfer_id}", summary="One transfer by id", response_model=LedgerTransfer)
async def get_transfer(transfer_id: str, engine: EngineDep, _: Admin) -> dict[str, Any]:
    def read(connection: Connection) -> dict[str, Any]:
        found = service.get_transfers(connection, [transfer_id]).get(transfer_id)
        if found is None:
            raise TransferNotFound(f"transfer {transfer_id!r} does not exist")
        scale = service.ledger_of(connection, found.ledger).scale
        return {**service.transfer_json(found, scale), "seq": found.seq}

    return await _read(engine, read)


@router.get("/chart", summary="The chart of accounts and the ledgers", response_model=Chart)
async def chart(engine: EngineDep, _: Admin) -> dict[str, Any]:
    def read(connection: Connection) -> dict[str, Any]:
        codes = [dict(r) for r in connection.execute(select(account_codes).order_by(account_codes.c.code)).mappings()]
        ledgers = [vars(ledger) for ledger in service.ledgers_of(connection).values()]
        return {"account_codes": codes, "ledgers": ledgers}

    return await _read(engine, read)


def _transfer(connection: Connection, t: TransferIn, flags: TransferFlags) -> Transfer:
    return Transfer(
        id=t.id,
        debit_account_id=t.debit_account_id or "",
        credit_account_id=t.credit_account_id or "",
        amount=_amount(connection, t),
        ledger=t.ledger or "",
        code=t.code or "",
        flags=flags,
        pending_id=t.pending_id,
        timeout_seconds=t.timeout_seconds,
        user_data=t.user_data,
    )


def _amount(connection: Connection, t: TransferIn) -> int | None:
    """Minor units at the ledger's scale; the scale of a hold's ledger when posting without one."""
    if t.amount is None:
        return None
    ledger = t.ledger
    if ledger is None and t.pending_id:
        pending = service.get_transfers(connection, [t.pending_id]).get(t.pending_id)
        ledger = pending.ledger if pending else None
    scale = service.ledger_of(connection, ledger).scale if ledger else 2
    try:
        units = parse_minor(t.amount, scale)
    except InvalidAmount as error:
        raise InvalidAmount(f"transfer {t.id}: {error.detail}") from None
    if units <= 0:
        raise InvalidAmount(f"transfer {t.id}: amount must be greater than zero")
    return units


def _problem_body(
    status: int, code: str, title: str, request: Request, detail: str = "", results: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": title,
        "status": status,
        "code": code,
        "instance": request.url.path,
    }
    if detail:
        body["detail"] = detail
    if results is not None:
        body["results"] = results
    return body
