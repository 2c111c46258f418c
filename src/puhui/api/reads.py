"""Reads for the routers: one read-only snapshot, run off the event loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool

from puhui.db import reading

T = TypeVar("T")


async def read(engine: Engine, work: Callable[[Connection], T]) -> T:
    """`work(connection)` on a read-only snapshot, in the thread pool."""

    def run() -> T:
        with reading(engine) as connection:
            return work(connection)

    return await run_in_threadpool(run)
