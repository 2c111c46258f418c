"""The relay (中继): publishes the outbox's fund flows to a NATS JetStream stream, one subject per
partition (分区) of the parties, for the monitor workers of `puhui.regtech.nats.workers`.

An event with flows goes to `<prefix>.p<k>` for every distinct partition k of its flows' parties
(`partition_of`), so each partition's subject carries, in outbox order, every event that moves money
for one of its parties. Each message carries:
- `Nats-Msg-Id: <position>.p<k>`: JetStream drops a republish within the duplicate window;
- `Puhui-Prev: <position>`: the position of the previous event relayed to the same partition (0 for
  the first). A worker applies a message only when its own offset has reached `Puhui-Prev`, so a
  redelivery that comes after newer messages (a worker died holding it) cannot be skipped or applied
  out of order.

The relay's offset and each partition's last position commit together after the publish acks:
a crash before that commit republishes the same messages, with the same ids and the same
`Puhui-Prev`, which JetStream de-duplicates (and workers skip by offset past the window).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from puhui.db import UnitOfWork, reading, transaction
from puhui.events.outbox import Event, advance_offset, consumer_offset, read_events
from puhui.regtech.monitor import partition_of
from puhui.regtech.windows import flows_of

RELAY = "regtech.relay"
MSG_ID = "Nats-Msg-Id"
PREV = "Puhui-Prev"
STREAM_IN_USE = 10058  # JetStream: "stream name already in use with a different configuration"


class RelayCrash(RuntimeError):
    """Raised on purpose by tests (`crash_before_advance`): published, offset not yet advanced."""


@dataclass(frozen=True)
class FlowStream:
    """The JetStream stream the flows go through: its name, subject prefix and partition count.

    Work-queue retention: a message leaves the stream once its partition's worker acks it."""

    name: str = "PUHUI_FLOWS"
    prefix: str = "puhui.flows"
    partitions: int = 4
    storage: str = "file"  # file | memory
    duplicate_window: float = 300.0  # seconds; a relay restarted within it republishes nothing new

    def __post_init__(self) -> None:
        if self.partitions < 1:
            raise ValueError("partitions must be at least 1")
        if self.storage not in ("file", "memory"):
            raise ValueError("storage must be file or memory")
        if self.duplicate_window < 120:
            raise ValueError("duplicate_window must be at least 120 seconds")

    def subject(self, k: int) -> str:
        return f"{self.prefix}.p{k}"

    def config(self) -> Any:
        from nats.js.api import RetentionPolicy, StorageType, StreamConfig

        return StreamConfig(
            name=self.name,
            subjects=[f"{self.prefix}.>"],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType(self.storage),
            duplicate_window=self.duplicate_window,
        )


DEFAULT_STREAM = FlowStream()


def encode_event(event: Event) -> bytes:
    """The one wire form of an outbox event: JSON with every field (round-trips exactly)."""
    return json.dumps(dataclasses.asdict(event), ensure_ascii=False, separators=(",", ":")).encode()


def decode_event(data: bytes) -> Event:
    return Event(**json.loads(data))


def partitions_of(event: Event, partitions: int) -> list[int]:
    """The partitions whose parties the event moves money for (none: the event is not relayed)."""
    return sorted({partition_of(f.party, partitions) for f in flows_of(event)})


async def ensure_stream(js: Any, stream: FlowStream) -> None:
    """Create the stream, or bring an existing one to this configuration (idempotent)."""
    from nats.js.errors import APIError

    try:
        await js.add_stream(stream.config())
    except APIError as error:
        if error.err_code != STREAM_IN_USE:
            raise
        await js.update_stream(stream.config())


@dataclass
class RelayCount:
    events: int = 0  # outbox events read
    published: int = 0  # messages stored by JetStream
    duplicates: int = 0  # messages JetStream had already (a republish)
    offset: int = 0


class Relay:
    def __init__(
        self,
        engine: Engine,
        js: Any,
        stream: FlowStream = DEFAULT_STREAM,
        batch: int = 1000,
        name: str = RELAY,
        crash_before_advance: bool = False,
    ) -> None:
        self.engine, self.js, self.stream, self.batch, self.name = engine, js, stream, batch, name
        self.crash_before_advance = crash_before_advance
        self._loaded = False

    def _partition_name(self, k: int) -> str:
        return f"{self.name}.p{k}"

    def _load(self) -> None:
        with reading(self.engine) as connection:
            self.offset = consumer_offset(connection, self.name)
            self.last = [consumer_offset(connection, self._partition_name(k)) for k in range(self.stream.partitions)]
        self._loaded = True

    async def step(self) -> RelayCount:
        """Relay one batch of the outbox; the count of what it did (events 0: drained)."""
        if not self._loaded:
            await asyncio.to_thread(self._load)
        events = await asyncio.to_thread(read_events, self.engine, self.offset, self.batch)
        if not events:
            return RelayCount(offset=self.offset)
        last = list(self.last)
        try:
            acks = await self._publish(events, last)
            if self.crash_before_advance:
                raise RelayCrash(f"published up to {events[-1].position}, offset not advanced")
            await asyncio.to_thread(transaction, self.engine, lambda uow: self._advance(uow, events[-1].position, last))
        except BaseException:
            self._loaded = False  # reload the offsets: what was published is unknown
            raise
        self.offset, self.last = events[-1].position, last
        duplicates = sum(1 for a in acks if a.duplicate)
        return RelayCount(len(events), len(acks) - duplicates, duplicates, self.offset)

    async def _publish(self, events: list[Event], last: list[int]) -> list[Any]:
        """Publish every (event, partition) message and wait for all the acks; `last` moves along."""
        pending = []
        for event in events:
            data = None
            for k in partitions_of(event, self.stream.partitions):
                data = data or encode_event(event)
                headers = {MSG_ID: f"{event.position}.p{k}", PREV: str(last[k])}
                pending.append(await self.js.publish_async(self.stream.subject(k), data, headers=headers))
                last[k] = event.position
        return list(await asyncio.gather(*pending))

    def _advance(self, uow: UnitOfWork, position: int, last: list[int]) -> None:
        for k, position_k in enumerate(last):
            if position_k != self.last[k]:
                advance_offset(uow, self._partition_name(k), position_k)
        advance_offset(uow, self.name, position)

    async def run_until_idle(self) -> RelayCount:
        """Relay until the outbox is drained; the totals."""
        total = RelayCount()
        while True:
            count = await self.step()
            if count.events == 0:
                total.offset = count.offset
                return total
            total.events += count.events
            total.published += count.published
            total.duplicates += count.duplicates


async def connect(url: str) -> tuple[Any, Any]:
    """A NATS connection and its JetStream context."""
    import nats

    nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=5)
    return nc, nc.jetstream()


async def relay_until_idle(
    engine: Engine, url: str, stream: FlowStream = DEFAULT_STREAM, batch: int = 1000
) -> RelayCount:
    nc, js = await connect(url)
    try:
        await ensure_stream(js, stream)
        return await Relay(engine, js, stream, batch).run_until_idle()
    finally:
        await nc.close()
