"""The FastAPI application: routers, problem handlers, health, events and the console."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, Response
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

import puhui
from puhui.api import openapi, problems
from puhui.api.body_limit import BodyLimitMiddleware
from puhui.api.deps import MAX_CURSOR, Principal, get_engine, require_admin
from puhui.api.fields import Schema
from puhui.api.nul_guard import NulGuardMiddleware
from puhui.api.query_guard import known_query_parameters
from puhui.api.request_id import RequestIdMiddleware
from puhui.console import routes as console_routes
from puhui.console import web as console_web
from puhui.db import group_commit, reading, transaction, writer
from puhui.db.leader import Leadership
from puhui.errors import PuhuiError
from puhui.events.outbox import read_events
from puhui.events.schemas import Events
from puhui.identity import api as identity_api
from puhui.identity import closing, verifier
from puhui.insurance import api as insurance_api
from puhui.insurance import listings as insurance_listings
from puhui.insurance.claims import api as insurance_claims_api
from puhui.insurance.reserves import api as reserves_api
from puhui.insurance.returns import api as return_shipping_api
from puhui.insurance.settlement import api as insurer_settlement_api
from puhui.ledger import api as ledger_api
from puhui.ledger.service import expire_pending
from puhui.lending import api as lending_api
from puhui.lending import service as lending_service
from puhui.lending.lines import api as lines_api
from puhui.lending.partners import api as partners_api
from puhui.payments import api as payments_api
from puhui.payments import bills_api, challenges, challenges_api, notifications, operations_api, reviews, risk_hook
from puhui.regtech import api as regtech_api
from puhui.regtech import related_api, reports_api
from puhui.risk import api as risk_api
from puhui.securities import api as securities_api
from puhui.securities import clearing_api as securities_clearing_api
from puhui.securities import corporate_api as securities_corporate_api
from puhui.securities import market_api as securities_market_api
from puhui.securities.robo import api as securities_robo_api
from puhui.settings import Settings
from puhui.supplychain import api as supplychain_api
from puhui.wealth.advice import api as advice_api
from puhui.wealth.funds import api as funds_api
from puhui.wealth.funds import orders as fund_orders
from puhui.wealth.mmf import api as wealth_api
from puhui.wealth.mmf import service as mmf_service

log = logging.getLogger("puhui")
STATIC = Path(__file__).parent / "web" / "static"
LEADER_RETRY_SECONDS = 2.0  # how often a follower tries the leader lock (and the leader checks it still holds it)


class Health(Schema):
    """The service is up and its database answers (健康检查)."""

    status: Literal["ok"]
    ready: bool
    database: Literal["ok"]
    version: str


async def on_validation_error(request: Request, error: RequestValidationError) -> Response:
    """A console page's bad link gets the console's error page; an API call its RFC 9457 problem."""
    if console_web.is_page(request):
        return console_web.invalid_link_page(request)
    return await problems.on_validation_error(request, error)


def create_app(engine: Engine, settings: Settings, *, run_expiry: bool = True, leader_lock: bool = False) -> FastAPI:
    """The app on `engine`. With `leader_lock` (`puhui serve`, whose workers share a database) the background
    loops run only in the process holding the leader lock (`puhui.db.leader`); without, in this one."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        def background() -> list[asyncio.Task]:
            """The loops one process runs for every process serving the database (the leader's)."""
            loops = [asyncio.create_task(_expire_holds(engine, settings.expiry_interval_seconds))] if run_expiry else []
            if settings.merchant_notifications:
                loops.append(asyncio.create_task(_notify_merchants(app, engine, settings)))
            if settings.monitoring:
                loops.append(asyncio.create_task(_monitor(engine, settings.monitor_interval_seconds)))
            if settings.sandbox and run_expiry:
                loops.append(asyncio.create_task(_make_markets(engine, settings.market_interval_seconds)))
            if settings.overnight_clearing and run_expiry:
                loops.append(asyncio.create_task(_clear_overnight(engine, settings.clearing_interval_seconds)))
            return loops

        tasks = [await _leading(app, engine, background)] if leader_lock else background()
        if run_expiry and settings.bank_worker:  # per process: the sandbox bank lives in this process's memory
            from puhui.payments.bank import worker as bank_worker

            tasks += await bank_worker.start(app, engine, settings)
        if settings.claims_fraud_model:
            app.state.claim_scoring = await run_in_threadpool(_claims_fraud_scoring, settings.claims_fraud_model)
        if settings.fraud_checks:
            hook = await run_in_threadpool(_start_fraud_checks, engine, settings.fraud_policy)
            app.state.fraud_hook = hook
            tasks.append(asyncio.create_task(_follow_events(hook, settings.fraud_catch_up_seconds)))
        yield
        if settings.fraud_checks:
            risk_hook.uninstall(engine)
        if getattr(app.state, "sandbox_clock", None) is not None:
            app.state.sandbox_clock.stop()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        batching = group_commit.stats_of(engine)
        if batching is not None and batching.jobs:
            log.info("%s", batching.summary())

    app = FastAPIOffline(  # /docs and /redoc from the installed package's assets: they work offline
        title="Puhui API",
        version=puhui.__version__,
        description="Puhui (普惠): internet finance on one double-entry ledger. Amounts are decimal strings; "
        "errors are RFC 9457 problems with a stable `code`; mutating calls take an `Idempotency-Key`.",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        dependencies=[Depends(known_query_parameters)],  # a misspelt or repeated query parameter is a 422
    )
    app.state.engine = engine
    app.state.settings = settings
    app.state.verifier = verifier.configured(settings)  # customers' own real-name checks (identity.verifier)
    openapi.install(app)  # errors as problems, Idempotency-Key on mutations (puhui.api.openapi)
    _sandbox(app, engine, settings)
    _closing_checks()  # 注销 refused while a loan, an order waiting or a policy in force is open
    app.add_middleware(NulGuardMiddleware)  # innermost: reads a body the limit has already bounded
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestIdMiddleware)  # added last: outermost, so even a 413 carries the request id
    app.add_exception_handler(PuhuiError, problems.on_puhui_error)  # type: ignore[arg-type]  # Starlette types handlers for Exception; each takes its subclass
    app.add_exception_handler(RequestValidationError, on_validation_error)  # type: ignore[arg-type]  # Starlette types handlers for Exception; each takes its subclass
    app.add_exception_handler(StarletteHTTPException, problems.on_http_error)  # type: ignore[arg-type]  # Starlette types handlers for Exception; each takes its subclass

    # First: a probe hit every few seconds is matched before the 300-odd operations' routes (1.7 ms when last).
    @app.get("/health", tags=["operations"], response_model=Health)
    async def health(engine: Annotated[Engine, Depends(get_engine)]) -> dict:
        def ping() -> str:
            with reading(engine) as connection:
                connection.execute(text("SELECT 1"))
            return "ok"

        return {"status": "ok", "ready": True, "database": await run_in_threadpool(ping), "version": puhui.__version__}

    # Routes are matched in order, about 50 µs an included router: the payments' come first (the hot path).
    app.include_router(payments_api.router)
    app.include_router(challenges_api.router)
    app.include_router(bills_api.router)
    app.include_router(ledger_api.router)
    app.include_router(identity_api.router)
    app.include_router(operations_api.router)
    app.include_router(risk_api.router)
    for router in (
        lending_api.router,
        lines_api.router,
        partners_api.router,
        supplychain_api.router,
        insurance_api.router,
        insurance_claims_api.router,
        return_shipping_api.router,
        insurer_settlement_api.router,
        securities_api.router,
        securities_clearing_api.router,
        securities_corporate_api.router,
        securities_market_api.router,
        securities_robo_api.router,
        reserves_api.router,
        wealth_api.router,
        advice_api.router,
        funds_api.router,
        regtech_api.router,
        related_api.router,
        reports_api.router,
        console_routes.router,  # the browser console: /app and its static files
    ):
        app.include_router(router)

    @app.get(
        "/v1/events", tags=["events"], summary="Outbox events after an offset (consumer API)", response_model=Events
    )
    async def events(
        engine: Annotated[Engine, Depends(get_engine)],
        _: Annotated[Principal, Depends(require_admin)],
        after: int = Query(0, ge=0, le=MAX_CURSOR),
        limit: int = Query(100, ge=1, le=1000),
        topic: str | None = None,
    ) -> dict:
        found = await run_in_threadpool(read_events, engine, after, limit, topic)
        return {
            "events": [
                {"position": e.position, "topic": e.topic, "type": e.type, "key": e.key, "payload": e.payload}
                for e in found
            ],
            "next": found[-1].position if found else after,
        }

    @app.get("/", include_in_schema=False)
    async def console() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    return app


def serve_app() -> FastAPI:
    """The app of one `puhui serve` worker process (uvicorn imports it by name in each): the database and
    settings from the environment (`PUHUI_*`, `PUHUI_ENV_FILE`), the background loops behind the leader
    lock. `PUHUI_PROFILE_DIR` (benchmarks) adds a SQL statement counter and cProfile (`puhui.db.profiling`)."""
    import os

    from puhui.db import create_engine_from_url

    settings = Settings()  # this process's environment, as the `puhui serve` that started it left it
    _log_like_uvicorn()
    engine = create_engine_from_url(
        settings.resolved_database_url(), pool_size=settings.db_pool_size, max_overflow=settings.db_pool_overflow
    )
    app = create_app(engine, settings, leader_lock=True)
    writer_socket = os.environ.get(writer.SOCKET_ENV)
    if writer_socket and settings.group_commit:
        app.state.writer = writer.WriterClient(writer_socket)  # SQLite's single writer (`puhui.db.writer`)
    profile_dir = os.environ.get("PUHUI_PROFILE_DIR")
    if profile_dir:
        from puhui.db import profiling

        profiling.install(engine, profile_dir)
    return app


def _log_like_uvicorn() -> None:
    """A served process's own INFO lines (which process leads, its batching when it stops) in the server's
    log, in uvicorn's format; Python's default would drop them below WARNING."""
    from uvicorn.logging import DefaultFormatter

    logger = logging.getLogger("puhui")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(DefaultFormatter("%(levelprefix)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def writer_setup(engine: Engine) -> None:
    """What a writer process (`puhui.db.writer`) needs before its first job: the sandbox clock, and the
    fraud checks with their window state following the outbox, as in a serving process."""
    import os

    settings = Settings()
    profile_dir = os.environ.get("PUHUI_PROFILE_DIR")
    if profile_dir:
        from puhui.db import profiling

        profiling.install(engine, profile_dir)
    if settings.sandbox:
        from puhui import clock
        from puhui.sandbox.service import SandboxClock

        clock.install(SandboxClock(engine, base=clock.current()).follow())
    if settings.fraud_checks:
        hook = _start_fraud_checks(engine, settings.fraud_policy)
        threading.Thread(
            target=_follow_events_blocking, args=(hook, settings.fraud_catch_up_seconds), daemon=True
        ).start()


async def _leading(app: FastAPI, engine: Engine, background) -> asyncio.Task:
    """Try the leader lock now (so the first process up leads at once), then keep trying in a task that
    starts `background()`'s loops when this process becomes the leader and cancels them if it stops being one.
    `app.state.leadership` and `app.state.leader_loops` say which process leads and what it runs."""
    leadership = app.state.leadership = Leadership(engine)
    app.state.leader_loops = background() if await run_in_threadpool(leadership.try_lead) else []
    if app.state.leader_loops:
        log.info("this process leads: it runs the background loops")
    return asyncio.create_task(_keep_leading(app, leadership, background))


async def _keep_leading(app: FastAPI, leadership: Leadership, background) -> None:
    try:
        while True:
            await asyncio.sleep(LEADER_RETRY_SECONDS)
            leading = await run_in_threadpool(leadership.try_lead)
            if leading and not app.state.leader_loops:
                log.info("this process took the leader lock: it runs the background loops")
                app.state.leader_loops = background()
            elif not leading and app.state.leader_loops:
                await _cancel(app.state.leader_loops)
                app.state.leader_loops = []
    finally:
        await _cancel(app.state.leader_loops)
        app.state.leader_loops = []
        await run_in_threadpool(leadership.release)


async def _cancel(tasks: list[asyncio.Task]) -> None:
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def operation_id(route: APIRoute) -> str:
    """`tag.function` (e.g. `payments.p2p`): a stable, readable operationId, so a generated client's
    functions are named after what they do rather than after their path."""
    return f"{route.tags[0]}.{route.name}".replace(" ", "_").replace("-", "_") if route.tags else route.name


def _closing_checks() -> None:
    """What closing a customer (`identity.customers.close`) checks beyond the customer's own ledger accounts."""
    waiting = {("pending", "purchase"), ("pending", "subscribe"), ("pending", "redeem"), ("confirmed", "redeem")}
    for check in (
        closing.listed("loan", lending_service.list_loans, lambda r: r["status"] == "active", "outstanding_principal"),
        closing.listed(
            "fund_order",
            partial(fund_orders.orders_of, limit=10**4),
            lambda r: (r["status"], r["kind"]) in waiting,
            "amount",
        ),
        closing.listed(
            "mmf_order", partial(mmf_service.orders_of, limit=10**4), lambda r: r["status"] == "pending", "amount"
        ),
        closing.listed(
            "insurance_policy",
            insurance_listings.policies_of,
            lambda r: r["cover_state"] in ("in_force", "awaiting_start"),
        ),
    ):
        closing.register(check)


def _sandbox(app: FastAPI, engine: Engine, settings: Settings) -> None:
    """In the sandbox only: the platform clock follows the database's offset and can be moved."""
    if not settings.sandbox:
        return
    from puhui import clock
    from puhui.sandbox import api as sandbox_api
    from puhui.sandbox.service import SandboxClock, installed

    found = installed()
    if found is None or found.engine.url != engine.url:
        found = SandboxClock(engine, base=found.base if found is not None else clock.current())
        clock.install(found.follow())
    app.state.sandbox_clock = found
    app.include_router(sandbox_api.router)


def _claims_fraud_scoring(path: str):
    """The saved claims-fraud model in front of the claims API."""
    from pathlib import Path

    from puhui.risk.claims_fraud.hook import ModelScoring
    from puhui.risk.claims_fraud.model import ClaimsFraudModel

    return ModelScoring(ClaimsFraudModel.load(Path(path)))


def _start_fraud_checks(engine: Engine, policy: str | None = None):
    """Seed the default fraud rules into an empty store, rebuild the window state from the outbox
    and put the check in front of every payment made on this engine (deciding by the cost policy
    when PUHUI_FRAUD_POLICY names one)."""
    import gc

    from puhui.risk.fraud.hook import FraudHook, Policy

    hook = FraudHook.start(engine)
    if policy is not None:
        hook.use_policy(Policy.configured(policy))
    gc.collect()
    gc.freeze()  # the window state is long-lived: keep it out of the collector's young generations
    risk_hook.install(engine, hook)
    return hook


async def _follow_events(hook, interval: float) -> None:
    """Keep the fraud window state up to date with the payments committed since."""
    while True:
        await run_in_threadpool(_catch_up, hook)
        await asyncio.sleep(interval)


def _follow_events_blocking(hook, interval: float) -> None:
    """`_follow_events` for a process without an event loop (the writer's thread)."""
    while True:
        _catch_up(hook)
        time.sleep(interval)


def _catch_up(hook) -> None:
    try:
        hook.catch_up()
    except Exception:  # noqa: BLE001 - keep the loop alive; the error is logged with its trace
        log.exception("following the outbox for fraud checks failed")


async def _notify_merchants(app: FastAPI, engine: Engine, settings: Settings) -> None:
    """Collect payment events into merchant notifications and deliver the due ones, continuously."""
    while True:
        try:
            post = getattr(app.state, "notify_post", None) or notifications.http_post
            while await run_in_threadpool(notifications.collect, engine, settings.merchant_notify_key) > 0:
                pass
            await run_in_threadpool(notifications.deliver, engine, post)
        except Exception:  # noqa: BLE001 - keep the loop alive; the error is logged with its trace
            log.exception("notifying merchants failed")
        await asyncio.sleep(settings.notify_interval_seconds)


async def _monitor(engine: Engine, interval: float) -> None:
    """Run the RegTech monitor over the outbox continuously (alerts as payments commit)."""
    from puhui.regtech.monitor import Monitor

    worker = None
    while True:
        try:
            worker = worker or await run_in_threadpool(Monitor, engine)
            await run_in_threadpool(worker.run)
        except Exception:  # noqa: BLE001 - keep the loop alive; the error is logged with its trace
            log.exception("the monitor failed; it resumes from its stored offset")
            worker = None
        await asyncio.sleep(interval)


async def _make_markets(engine: Engine, interval: float) -> None:
    """In the sandbox: the liquidity providers' quotes kept on every instrument (securities.liquidity)."""
    from puhui.securities.liquidity import make_markets

    while True:
        try:
            await run_in_threadpool(make_markets, engine)
        except Exception:  # noqa: BLE001 - keep the loop alive; a refused quote is logged and tried again
            log.exception("keeping the liquidity providers' quotes failed")
        await asyncio.sleep(interval)


async def _clear_overnight(engine: Engine, interval: float) -> None:
    """Clear the last trading day overnight, before the next session opens (securities.clearing)."""
    from puhui.securities.clearing import clear_overnight

    while True:
        try:
            if (cleared := await run_in_threadpool(clear_overnight, engine)) is not None:
                log.info("securities cleared overnight: %s", cleared)
        except Exception:  # noqa: BLE001 - keep the loop alive; a refused clearing is logged and tried again
            log.exception("the overnight securities clearing failed")
        await asyncio.sleep(interval)


async def _expire_holds(engine: Engine, interval: float) -> None:
    """Release pending holds whose timeout has passed, close the reviews they belonged to, and decline
    the payment challenges (核身) nobody answered in time."""
    while True:
        try:
            while await run_in_threadpool(transaction, engine, expire_pending) > 0:
                pass
            await run_in_threadpool(transaction, engine, reviews.expire_due)
            await run_in_threadpool(transaction, engine, challenges.expire_due)
        except Exception:  # noqa: BLE001 - keep the loop alive; the error is logged with its trace
            log.exception("expiring pending transfers failed")
        await asyncio.sleep(interval)
