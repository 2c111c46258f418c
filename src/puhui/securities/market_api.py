"""Market data over HTTP under /v1/securities (行情): the five-level quote, the day's bars, and a live
stream of trades as server-sent events (SSE)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from puhui.api.deps import Caller, EngineDep, SettingsDep
from puhui.api.reads import read as _read
from puhui.eod.dates import PATTERN, parse_date
from puhui.securities import quotes
from puhui.securities.schemas import StockBars, StockQuote

router = APIRouter(prefix="/v1/securities", tags=["securities"])
Code = Annotated[str, Path(pattern=r"^[0-9]{6}$", description="the instrument's six-digit code")]
Codes = Annotated[str | None, Query(pattern=r"^[0-9]{6}(,[0-9]{6}){0,49}$", description="e.g. 600000,000001")]
POLL_SECONDS = 0.5


@router.get("/quotes/{code}", summary="An instrument's quote now: last price, band, five levels a side (五档行情)")
async def read_quote(code: Code, engine: EngineDep, principal: Caller) -> StockQuote:
    return StockQuote.model_validate(await _read(engine, lambda c: quotes.quote(c, code)))


@router.get("/bars/{code}", summary="An instrument's bars of a trading day (K线), China time")
async def read_bars(
    code: Code,
    engine: EngineDep,
    principal: Caller,
    date: Annotated[str, Query(pattern=PATTERN, json_schema_extra={"format": "date"}, description="the trading day")],
    minutes: Annotated[int, Query(ge=1, le=240, description="minutes per bar")] = 1,
) -> StockBars:
    day = parse_date(date)
    return StockBars.model_validate(await _read(engine, lambda c: quotes.bars_json(c, code, day, minutes)))


def _frame(trade: dict[str, Any]) -> str:
    return f"id: {trade['position']}\nevent: trade\ndata: {json.dumps(trade, ensure_ascii=False)}\n\n"


@router.get(
    "/stream",
    summary="Trades as they happen (server-sent events, text/event-stream); resumes after Last-Event-ID",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}},
)
async def stream(
    engine: EngineDep,
    settings: SettingsDep,
    principal: Caller,
    codes: Codes = None,
    seconds: Annotated[
        float, Query(gt=0, le=3600, description="how long to stream before closing (at most the server's limit)")
    ] = 300,
    last_event_id: Annotated[
        str, Header(pattern=r"^[0-9]{0,15}$", description="resume after this event (its `id:` line)")
    ] = "",
) -> StreamingResponse:
    wanted = tuple(codes.split(",")) if codes else ()

    async def events() -> AsyncIterator[str]:
        cursor = int(last_event_id) if last_event_id else 0
        loop = asyncio.get_running_loop()
        stop = loop.time() + min(seconds, settings.market_stream_max_seconds)
        yield ": puhui market data\n\n"
        while loop.time() < stop:
            trades, cursor = await run_in_threadpool(quotes.trades_after, engine, cursor, wanted)
            for trade in trades:
                yield _frame(trade)
            if not trades:
                await asyncio.sleep(min(POLL_SECONDS, max(stop - loop.time(), 0)))

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
