"""Monitor workers on the NATS path: each owns some partitions (分区) of the parties and, per
partition k, a durable pull consumer `monitor-p<k>` on `<prefix>.p<k>` and one
`Monitor(name="regtech.monitor.p<k>", partition=(k, n))` that keeps the windows of that partition's
parties. Every rule looks at one party's flows, so the workers together raise the alerts (same ids)
one in-process monitor raises.

Commit first, ack after: `Monitor.process` commits the windows, the alerts and the partition's
offset in one transaction; a worker that dies before acking gets the messages redelivered, and
they are at or before the stored offset, so they are acked and change nothing.

Order: a message is applied only once the partition's offset has reached its `Puhui-Prev` (the
position of the partition's previous message). A redelivered message can arrive after newer ones
(its first worker died holding it); the newer ones are then nak'd with a delay until it is applied.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from puhui.db import reading
from puhui.events.outbox import Event, consumer_offset
from puhui.regtech.monitor import Monitor
from puhui.regtech.nats.relay import (
    DEFAULT_STREAM,
    PREV,
    FlowStream,
    connect,
    decode_event,
    ensure_stream,
)

MONITOR = "regtech.monitor"


class WorkerCrash(RuntimeError):
    """Raised on purpose by tests (`crash_before_ack`): committed, not yet acked."""


def assign(worker_index: int, workers: int, partitions: int) -> list[int]:
    """The partitions worker `worker_index` of `workers` owns: k with k % workers == worker_index."""
    if not 0 <= worker_index < workers:
        raise ValueError(f"worker index {worker_index} is not in 0..{workers - 1}")
    return [k for k in range(partitions) if k % workers == worker_index]


@dataclass
class Sequenced:
    apply: list[tuple[Event, Any]]  # in order, each one following the previous
    done: list[Any]  # at or before the offset: a redelivery or a republish
    later: list[Any]  # an earlier message of the partition is still missing


def sequence(offset: int, items: list[tuple[Event, int, Any]]) -> Sequenced:
    """Split fetched (event, prev position, message) by what the partition at `offset` can do now."""
    out = Sequenced([], [], [])
    running = offset
    for event, prev, msg in sorted(items, key=lambda item: item[0].position):
        if event.position <= running:
            out.done.append(msg)
        elif prev <= running and not out.later:
            out.apply.append((event, msg))
            running = event.position
        else:
            out.later.append(msg)
    return out


@dataclass
class WorkerCount:
    events: int = 0  # events applied by the monitors
    alerts: int = 0
    skipped: int = 0  # messages at or before the offset (acked, nothing done)
    deferred: int = 0  # messages nak'd until an earlier one arrives

    def add(self, other: WorkerCount) -> None:
        self.events += other.events
        self.alerts += other.alerts
        self.skipped += other.skipped
        self.deferred += other.deferred


class PartitionWorker:
    """One partition: its durable consumer and its monitor."""

    def __init__(
        self,
        engine: Engine,
        js: Any,
        stream: FlowStream,
        k: int,
        batch: int = 500,
        ack_wait: float = 30.0,
        fetch_timeout: float = 0.5,
        crash_before_ack: bool = False,
    ) -> None:
        self.engine, self.js, self.stream, self.k, self.batch = engine, js, stream, k, batch
        self.ack_wait, self.fetch_timeout, self.crash_before_ack = ack_wait, fetch_timeout, crash_before_ack
        self.durable = f"monitor-p{k}"
        self.monitor = Monitor(engine, name=f"{MONITOR}.p{k}", partition=(k, stream.partitions))

    async def start(self) -> None:
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        config = ConsumerConfig(
            name=self.durable,
            durable_name=self.durable,
            filter_subject=self.stream.subject(self.k),
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait,
            max_ack_pending=max(1000, 2 * self.batch),
        )
        await self.js.add_consumer(self.stream.name, config)  # create, or update the ack wait
        self.sub = await self.js.pull_subscribe_bind(durable=self.durable, stream=self.stream.name)
        self.offset = await asyncio.to_thread(self._stored_offset)

    def _stored_offset(self) -> int:
        with reading(self.engine) as connection:
            return consumer_offset(connection, self.monitor.name)

    async def step(self) -> WorkerCount | None:
        """Fetch and handle one batch; None when nothing came within the fetch timeout."""
        try:
            msgs = await self.sub.fetch(self.batch, timeout=self.fetch_timeout)
        except TimeoutError:  # nats.errors.TimeoutError is one; some fetch paths raise the plain one
            return None
        return await self.handle(msgs)

    async def handle(self, msgs: list[Any]) -> WorkerCount:
        todo = sequence(self.offset, [(decode_event(m.data), int((m.headers or {}).get(PREV, 0)), m) for m in msgs])
        events = [event for event, _ in todo.apply]
        alerts = 0
        if events:
            try:
                alerts = await asyncio.to_thread(self.monitor.process, events)
            except BaseException:
                self.offset = await asyncio.to_thread(self._stored_offset)
                raise
            self.offset = events[-1].position
        if self.crash_before_ack:
            raise WorkerCrash(f"partition {self.k} committed up to {self.offset}, not acked")
        for msg in todo.done + [msg for _, msg in todo.apply]:
            await msg.ack()
        for msg in todo.later:
            await msg.nak(delay=min(1.0, self.ack_wait))
        return WorkerCount(len(events), alerts, len(todo.done), len(todo.later))

    async def idle(self) -> bool:
        """Nothing left for this partition: no message undelivered, none awaiting an ack."""
        info = await self.sub.consumer_info()
        return info.num_pending == 0 and info.num_ack_pending == 0


class Worker:
    """Worker `index` of `workers`: the partitions `assign` gives it, drained concurrently."""

    def __init__(
        self,
        engine: Engine,
        js: Any,
        stream: FlowStream = DEFAULT_STREAM,
        index: int = 0,
        workers: int = 1,
        **options: Any,
    ) -> None:
        self.js, self.stream = js, stream
        self.partitions = [
            PartitionWorker(engine, js, stream, k, **options) for k in assign(index, workers, stream.partitions)
        ]

    async def start(self) -> None:
        await ensure_stream(self.js, self.stream)
        for partition in self.partitions:
            await partition.start()

    async def run_until_idle(self, timeout: float = 120.0) -> WorkerCount:
        """Drain every owned partition until it is idle; TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        total = WorkerCount()
        for count in await asyncio.gather(*(self._drain(p, deadline) for p in self.partitions)):
            total.add(count)
        return total

    async def _drain(self, partition: PartitionWorker, deadline: float) -> WorkerCount:
        total = WorkerCount()
        while True:
            count = await partition.step()
            if count is not None:
                total.add(count)
            elif await partition.idle():
                return total
            if time.monotonic() > deadline:
                raise TimeoutError(f"partition {partition.k} not drained in time")

    async def run_forever(self) -> None:  # pragma: no cover - the long-running worker; tests drain
        async def loop(partition: PartitionWorker) -> None:
            while True:
                await partition.step()

        await asyncio.gather(*(loop(p) for p in self.partitions))


async def work_until_idle(
    engine: Engine,
    url: str,
    stream: FlowStream = DEFAULT_STREAM,
    index: int = 0,
    workers: int = 1,
    timeout: float = 120.0,
    **options: Any,
) -> WorkerCount:
    """Connect, drain worker `index`'s partitions, disconnect (acks flushed)."""
    nc, js = await connect(url)
    try:
        worker = Worker(engine, js, stream, index, workers, **options)
        await worker.start()
        return await worker.run_until_idle(timeout)
    finally:
        await _close(nc)


async def _close(nc: Any) -> None:
    """Flush the acks, then close (draining would wait on the pull subscriptions' open requests)."""
    if nc.is_connected:
        await nc.flush()
    await nc.close()
