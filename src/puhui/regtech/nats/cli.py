"""`puhui regtech relay|worker`: the NATS JetStream path of the fund-flow monitor (资金监测横向扩展).

One relay publishes the outbox's flows to the stream; `--workers` worker processes, each started with
its `--index`, share the `--partitions` between them (partition k goes to worker k % workers). Every
process of one deployment must use the same --partitions, --stream and --prefix."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os

import typer

from puhui.cli_engine import engine_for as _engine

app = typer.Typer(no_args_is_help=True, help="The monitor over NATS JetStream: the relay and the workers.")

DB = typer.Option(None, "--db", help="database URL (default: the configured one)")
NATS = typer.Option(
    os.environ.get("PUHUI_NATS_URL", "nats://127.0.0.1:4222"),
    "--nats",
    help="NATS server URL (default: $PUHUI_NATS_URL or nats://127.0.0.1:4222)",
)
PARTITIONS = typer.Option(4, "--partitions", min=1, max=1024, help="partitions of the parties (fixed per deployment)")
STREAM = typer.Option("PUHUI_FLOWS", "--stream", help="JetStream stream name")
PREFIX = typer.Option("puhui.flows", "--prefix", help="subject prefix: partition k is <prefix>.p<k>")
ONCE = typer.Option(False, "--once", help="drain once and exit (default: keep running)")


def _stream(partitions: int, stream: str, prefix: str, storage: str):
    from puhui.regtech.nats.relay import FlowStream

    try:
        return FlowStream(name=stream, prefix=prefix, partitions=partitions, storage=storage)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error


@app.command()
def relay(
    nats: str = NATS,
    partitions: int = PARTITIONS,
    stream: str = STREAM,
    prefix: str = PREFIX,
    storage: str = typer.Option("file", "--storage", help="stream storage: file or memory"),
    batch: int = typer.Option(1000, "--batch", min=1, max=100_000, help="outbox events per publish round"),
    poll: float = typer.Option(0.5, "--poll", min=0.01, help="seconds between polls when idle"),
    once: bool = ONCE,
    db: str | None = DB,
) -> None:
    """Publish the outbox's flows to <prefix>.p<k> from the relay's stored offset."""
    flows = _stream(partitions, stream, prefix, storage)
    engine = _engine(db)
    if once:
        from puhui.regtech.nats.relay import relay_until_idle

        count = asyncio.run(relay_until_idle(engine, nats, flows, batch))
        typer.echo(json.dumps(dataclasses.asdict(count)))
        return
    asyncio.run(_relay_forever(engine, nats, flows, batch, poll))  # pragma: no cover - long-running


async def _relay_forever(engine, url, flows, batch, poll) -> None:  # pragma: no cover
    from puhui.regtech.nats.relay import Relay, connect, ensure_stream

    nc, js = await connect(url)
    try:
        await ensure_stream(js, flows)
        relay_ = Relay(engine, js, flows, batch)
        while True:
            count = await relay_.run_until_idle()
            if count.events:
                typer.echo(json.dumps(dataclasses.asdict(count)))
            await asyncio.sleep(poll)
    finally:
        await nc.close()


@app.command()
def worker(
    nats: str = NATS,
    index: int = typer.Option(0, "--index", min=0, help="this worker's index, 0-based"),
    workers: int = typer.Option(1, "--workers", min=1, help="how many workers share the partitions"),
    partitions: int = PARTITIONS,
    stream: str = STREAM,
    prefix: str = PREFIX,
    storage: str = typer.Option("file", "--storage", help="stream storage: file or memory"),
    batch: int = typer.Option(500, "--batch", min=1, max=10_000, help="messages per fetch"),
    ack_wait: float = typer.Option(30.0, "--ack-wait", min=1.0, help="seconds before an unacked message comes back"),
    once: bool = ONCE,
    db: str | None = DB,
) -> None:
    """Consume this worker's partitions, run the monitor on them, write alerts."""
    if index >= workers:
        raise typer.BadParameter(f"--index must be below --workers ({workers})", param_hint="--index")
    flows = _stream(partitions, stream, prefix, storage)
    engine = _engine(db)
    options = {"batch": batch, "ack_wait": ack_wait}
    if once:
        from puhui.regtech.nats.workers import work_until_idle

        count = asyncio.run(work_until_idle(engine, nats, flows, index, workers, **options))
        typer.echo(json.dumps(dataclasses.asdict(count)))
        return
    asyncio.run(_work_forever(engine, nats, flows, index, workers, options))  # pragma: no cover - long-running


async def _work_forever(engine, url, flows, index, workers, options) -> None:  # pragma: no cover
    from puhui.regtech.nats.relay import connect
    from puhui.regtech.nats.workers import Worker

    nc, js = await connect(url)
    try:
        group = Worker(engine, js, flows, index, workers, **options)
        await group.start()
        await group.run_forever()
    finally:
        await nc.close()
