"""Running a mutating API call: one unit of work that holds the operation, its audit record and
its idempotency record, so a replay with the same `Idempotency-Key` returns the first answer and
moves nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine, bindparam, select

from puhui import clock
from puhui.api.deps import Principal, check_session, session_read
from puhui.api.problems import MEDIA_TYPE
from puhui.api.request_id import request_id_of
from puhui.db import UnitOfWork, transaction
from puhui.db.group_commit import Job, submit
from puhui.db.prepared import ByKeys, Prepared, Read, among, run
from puhui.db.tables import audit_log, idempotency_keys
from puhui.db.writer import Call, WriterClient, WriterNotThere
from puhui.errors import InvalidInput, PuhuiError

KEY_MAX_LENGTH = 128

# Every mutation runs these; built once (building a statement costs more than running it).
_KEYS = idempotency_keys.c
_STORED = Prepared(
    select(_KEYS.request_hash, _KEYS.status_code, _KEYS.response_body).where(
        _KEYS.principal == bindparam("principal"), _KEYS.key == bindparam("key")
    ),
    by_keys=ByKeys(  # a batch's calls read their keys' stored answers in one statement (`read_ahead_each`)
        Prepared(
            select(_KEYS.principal, _KEYS.key, _KEYS.request_hash, _KEYS.status_code, _KEYS.response_body).where(
                among(_KEYS.principal, "principal"), among(_KEYS.key, "key")
            )
        ),
        ("principal", "key"),
    ),
)
_INSERT_KEY = Prepared(idempotency_keys.insert())
_INSERT_AUDIT = Prepared(audit_log.insert())


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"
    title = "Idempotency-Key was already used for a different request"


class InvalidIdempotencyKey(InvalidInput):
    code = "invalid_idempotency_key"
    title = "Idempotency-Key header is invalid"


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]
    problem: bool = False


def client_id_of(request: Request, given: str | None) -> str:
    """The client's own id for what it creates (an order, a payment): the one in the body, else the
    call's `Idempotency-Key`, else a new one; so a retried call names the same thing."""
    return given or request.headers.get("Idempotency-Key") or uuid.uuid4().hex


def fingerprint(request: Request, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), path_of(request).encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def path_of(request: Request) -> str:
    """`request.url.path`, without building the whole URL (host header parsed, URL joined and split again):
    that was a seventh of the payment route's own time. As `urlsplit` does, tabs and line breaks (sent
    escaped, as %09, %0D, %0A) are dropped."""
    path = str(request.scope["path"]).replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    return path.translate(_DROPPED_BY_URLSPLIT) if "\t" in path or "\r" in path or "\n" in path else path


_DROPPED_BY_URLSPLIT = str.maketrans("", "", "\t\r\n")


def is_valid_key(key: str) -> bool:
    """An Idempotency-Key the platform takes: 1-128 printable characters."""
    return 0 < len(key) <= KEY_MAX_LENGTH and key.isprintable()


async def run_mutation(
    request: Request,
    engine: Engine,
    principal: Principal,
    action: str,
    target: str | None,
    work: Callable[[UnitOfWork], Outcome],
    *,
    group: Callable[..., Job[tuple[Outcome, bool]]] | None = None,
) -> Response:
    """Run `work` once per Idempotency-Key, audited, in one transaction (off the event loop). With
    `group` (a `Job` factory) the call joins the engine's group commit (`puhui.db.group_commit`): its
    savepoint holds the work, the idempotency and the audit row, and a refusal is audited in the batch.
    Where the app has a writer process (`puhui.db.writer`, SQLite under `puhui serve`), the group commit
    is that process's: `work` must then pickle (a module function, a `functools.partial` of one)."""
    from starlette.concurrency import run_in_threadpool

    key = request.headers.get("Idempotency-Key")
    if key is not None and not is_valid_key(key):
        raise InvalidIdempotencyKey(f"must be 1-{KEY_MAX_LENGTH} printable characters")
    body = await request.body()
    attempt = Attempt(
        principal,
        action,
        target,
        work,
        key,
        fingerprint(request, body),
        request.method,
        path_of(request)[:256],
        request_id_of(request) or uuid.uuid4().hex,
        request.client.host if request.client else None,
    )
    try:
        if group is not None:
            outcome, replayed = await _grouped(request, engine, attempt, group)
        else:
            outcome, replayed = await run_in_threadpool(transaction, engine, attempt)
    except PuhuiError as error:
        request.state.audited = True
        if group is None:  # audited in its own transaction; a group commit audits it in the batch
            await run_in_threadpool(transaction, engine, lambda uow, error=error: attempt.refused(uow, error))
        raise
    headers = {"X-Request-Id": attempt.request_id}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return _answer(outcome, attempt.request_id, headers)


async def _grouped(
    request: Request, engine: Engine, attempt: Attempt, group: Callable[..., Job[tuple[Outcome, bool]]]
) -> tuple[Outcome, bool]:
    writer: WriterClient | None = getattr(request.app.state, "writer", None)
    if writer is not None and not writer.gone:
        try:
            answer: tuple[Outcome, bool] = await writer.submit(Call(attempt, attempt.refused))
            return answer
        except WriterNotThere:  # never sent: this process commits it
            pass
    job = group(attempt, refused=attempt.refused, reads=attempt.reads, guess=attempt.guess)
    return await asyncio.wrap_future(submit(engine, job))


@dataclass(frozen=True)
class Attempt:
    """A mutating call's unit of work: the session check, the stored answer of its Idempotency-Key, the
    work, and its idempotency and audit rows. A value (it pickles when its work does), so a writer
    process can run it."""

    principal: Principal
    action: str
    target: str | None
    work: Callable[[UnitOfWork], Outcome]
    key: str | None
    request_hash: str
    method: str
    path: str
    request_id: str
    source_ip: str | None

    def __call__(self, uow: UnitOfWork) -> tuple[Outcome, bool]:
        check_session(uow.connection, self.principal)
        if self.key is not None:
            stored = _stored_response(uow, self.principal.id, self.key)
            if stored is not None:
                if stored[0] != self.request_hash:
                    raise IdempotencyKeyReused(f"key {self.key!r} was first used for another request")
                return stored[1], True
        outcome = self.work(uow)
        if self.key is not None:
            uow.write(
                _INSERT_KEY,
                {
                    "principal": self.principal.id,
                    "key": self.key,
                    "method": self.method,
                    "path": self.path,
                    "request_hash": self.request_hash,
                    "status_code": outcome.status,
                    "response_body": json.dumps({"problem": outcome.problem, "body": outcome.body}),
                    "created_at": clock.now_micros(),
                },
            )
        self._audit(uow, outcome.status)
        return outcome, False

    def reads(self, shared: dict[Any, Any]) -> list[Read]:
        """What the call reads first, ahead of running it (`Job.reads`, `shared` what its batch read as it
        began): its session, its key's stored answer, and the work's own first reads where it names them
        (a `reads(shared)` of its own)."""
        found = [session_read(self.principal)] if self.principal.session_unchecked else []
        if self.key is not None:
            found.append((_STORED, {"principal": self.principal.id, "key": self.key}))
        more = getattr(self.work, "reads", None)
        return found + list(more(shared)) if more is not None else found

    def guess(self, uow: UnitOfWork) -> list[Read]:
        """The writes the work guesses it will make first (`Job.guess`), where it names them (a `guess()`
        of its own). A call answered from its key's stored answer leaves them untaken, and so undone."""
        more = getattr(self.work, "guess", None)
        return list(more(uow)) if more is not None else []

    def refused(self, uow: UnitOfWork, error: Exception) -> None:
        """The refusal's audit row (a refused call changes nothing else)."""
        if isinstance(error, PuhuiError):
            self._audit(uow, error.status, error.code)

    def _audit(self, uow: UnitOfWork, status: int, error_code: str | None = None) -> None:
        _audit(
            uow, self.principal, self.action, self.target, self.source_ip, self.request_id, status, self.key, error_code
        )


async def replay(request: Request, engine: Engine, principal: Principal) -> Response | None:
    """For calls with effects outside one unit of work (the bank channel, an identity verification provider):
    the stored answer when this Idempotency-Key was already used for the same request, before anything is done
    again. A key `run_mutation` would refuse is refused here already, before those effects."""
    from starlette.concurrency import run_in_threadpool

    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not is_valid_key(key):
        raise InvalidIdempotencyKey(f"must be 1-{KEY_MAX_LENGTH} printable characters")
    request_hash = fingerprint(request, await request.body())

    def read(uow: UnitOfWork) -> Outcome | None:
        stored = _stored_response(uow, principal.id, key)
        if stored is not None and stored[0] != request_hash:
            raise IdempotencyKeyReused(f"key {key!r} was first used for another request")
        return None if stored is None else stored[1]

    outcome = await run_in_threadpool(transaction, engine, read)
    if outcome is None:
        return None
    return _answer(outcome, request_id_of(request), {"Idempotent-Replayed": "true"})


def _answer(outcome: Outcome, request_id: str, headers: dict[str, str]) -> JSONResponse:
    """The outcome as a response; a problem names this request's id (a replayed one too: the stored body
    is the first request's, the id the one the caller quotes now)."""
    if not outcome.problem:
        return JSONResponse(outcome.body, status_code=outcome.status, headers=headers)
    body = {**outcome.body, "request_id": request_id} if request_id else outcome.body
    return JSONResponse(body, status_code=outcome.status, headers=headers, media_type=MEDIA_TYPE)


def _stored_response(uow: UnitOfWork, principal: str, key: str) -> tuple[str, Outcome] | None:
    row = run(uow.connection, _STORED, {"principal": principal, "key": key}).first()
    if row is None:
        return None
    saved = json.loads(row[2])
    return row[0], Outcome(row[1], saved["body"], saved["problem"])


def _audit(
    uow: UnitOfWork,
    principal: Principal,
    action: str,
    target: str | None,
    source_ip: str | None,
    request_id: str,
    status: int,
    key: str | None,
    error_code: str | None = None,
) -> None:
    detail = {k: v for k, v in (("idempotency_key", key), ("error", error_code)) if v}
    uow.write(
        _INSERT_AUDIT,
        {
            "at": clock.now_micros(),
            "principal": principal.id,
            "action": action,
            "target": (target or "")[:256] or None,
            "source_ip": source_ip,
            "request_id": request_id[:64],
            "status_code": status,
            "detail": json.dumps(detail) if detail else None,
        },
    )
