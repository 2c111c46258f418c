"""SQLite's writer process (`puhui.db.writer`): calls sent over its socket run in its group commit and
come back with their values or their errors; a refusal is recorded in the batch; when the process dies,
the calls waiting on it get a 503 and the client says it is gone.

The writer is SQLite's alone (PostgreSQL's workers each commit their own batches), so these run on
SQLite only; the HTTP path through it, killed mid-stream, is in `tests/payments/test_group_commit_crash.py`.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import shutil
import signal
import subprocess
import time
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from puhui.db import UnitOfWork, create_engine_from_url, reading
from puhui.db import writer as writer_module
from puhui.db.tables import audit_log
from puhui.db.writer import Call, WriterClient, WriterNotThere, WriterUnavailable
from puhui.errors import Conflict

ROOT = Path(__file__).resolve().parents[2]


def note(action: str, status: int, uow: UnitOfWork) -> str:
    """A call's work: one audit row, and its action back."""
    uow.execute(insert(audit_log).values(at=1, principal="writer-test", action=action, status_code=status))
    return action


def stall(action: str, marker: str, uow: UnitOfWork) -> str:
    """A call's work that writes its row, says so in `marker` and never finishes: its batch never commits."""
    note(action, 201, uow)
    Path(marker).touch()
    time.sleep(120)
    return action


def refuse(action: str, uow: UnitOfWork) -> None:
    uow.execute(insert(audit_log).values(at=1, principal="writer-test", action=action, status_code=200))
    raise Conflict(f"{action} is refused", reason="test")


def record_refusal(uow: UnitOfWork, error: Exception) -> None:
    assert isinstance(error, Conflict)
    uow.execute(insert(audit_log).values(at=1, principal="writer-test", action="refusal", status_code=error.status))


def unpicklable(uow: UnitOfWork) -> object:
    return lambda: None  # a value that cannot cross back


@pytest.fixture
def database(sqlite_template: Path, tmp_path: Path) -> str:
    target = tmp_path / "puhui.db"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def started(database: str):
    env = {
        **os.environ,
        "PUHUI_DATABASE_URL": database,
        "PUHUI_FRAUD_CHECKS": "false",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), str(ROOT / "src"), os.environ.get("PYTHONPATH")])),
    }
    process = writer_module.start("puhui.app:writer_setup", env)
    try:
        yield process
    finally:
        if process.process.poll() is None:
            process.stop()
        with process.process:  # its pipes closed, also when the test killed it
            pass


def rows(database: str) -> dict[str, int]:
    engine = create_engine_from_url(database)
    try:
        with reading(engine) as connection:
            found = connection.execute(
                select(audit_log.c.action, func.count())
                .where(audit_log.c.principal == "writer-test")
                .group_by(audit_log.c.action)
            ).all()
    finally:
        engine.dispose()
    return {action: n for action, n in found}


def test_calls_come_back_with_their_values_and_errors(started, database: str) -> None:
    async def scenario() -> list[object]:
        client = WriterClient(started.socket_path)
        calls = [Call(partial(note, f"call-{n}", 201)) for n in range(40)]
        calls.append(Call(partial(refuse, "refused-call"), refused=record_refusal))
        calls.append(Call(unpicklable))
        answers = await asyncio.gather(*(client.submit(call) for call in calls), return_exceptions=True)
        await client.close()
        return answers

    answers = asyncio.run(scenario())
    assert answers[:40] == [f"call-{n}" for n in range(40)]
    refused, odd = answers[40], answers[41]
    assert isinstance(refused, Conflict) and refused.code == "conflict" and refused.extra == {"reason": "test"}
    assert isinstance(odd, RuntimeError) and "pickle" in str(odd).lower()
    # every call's row committed, the refused call's own row undone and its refusal recorded in the batch
    assert rows(database) == {**{f"call-{n}": 1 for n in range(40)}, "refusal": 1}


def test_a_dead_writer_fails_the_waiting_calls_with_a_503_and_is_gone(started, database: str, tmp_path: Path) -> None:
    marker = tmp_path / "inside-the-batch"

    async def scenario() -> tuple[object, WriterClient]:
        client = WriterClient(started.socket_path)
        assert await client.submit(Call(partial(note, "before", 201))) == "before"
        # the next call's batch has written its row and waits: the writer dies mid-batch
        waiting = asyncio.ensure_future(client.submit(Call(partial(stall, "lost", str(marker)))))
        for _ in range(600):
            if marker.exists():
                break
            await asyncio.sleep(0.05)
        assert marker.exists(), "the stalled call never started in the writer"
        started.process.kill()
        started.process.wait()
        answer = await asyncio.gather(waiting, return_exceptions=True)
        return answer[0], client

    answer, client = asyncio.run(scenario())
    assert isinstance(answer, WriterUnavailable) and answer.status == 503 and answer.code == "writer_unavailable"
    assert client.gone
    with pytest.raises(WriterNotThere):  # never sent: its caller commits it itself (`run_mutation`)
        asyncio.run(client.submit(Call(partial(note, "after", 201))))
    assert rows(database) == {"before": 1}  # the lost call never committed


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])  # the server's is uvloop's, which raises on a closed transport
def test_a_call_sent_as_the_writers_connection_closes_is_not_there_not_an_error(
    started, database: str, loop: str
) -> None:
    """Killed, the writer's socket closes before the client's reader has noticed: a call sent then was
    never sent, so its caller must be told to commit it itself (`WriterNotThere`), not get a 500."""

    async def scenario() -> WriterClient:
        client = WriterClient(started.socket_path)
        assert await client.submit(Call(partial(note, "before", 201))) == "before"
        assert client._writer is not None
        client._writer.transport.close()  # as the peer's reset closes it, before the reader runs
        with pytest.raises(WriterNotThere):
            await client.submit(Call(partial(note, "unsent", 201)))
        assert client._waiting == {}
        return client

    if loop == "uvloop":
        import uvloop

        uvloop.run(scenario())
    else:
        asyncio.run(scenario())
    assert rows(database) == {"before": 1}


def test_the_writer_ends_with_its_server_and_ignores_stop_signals(started) -> None:
    started.process.send_signal(signal.SIGTERM)  # a stop signal to the group: the writer waits for its server
    with pytest.raises(subprocess.TimeoutExpired):
        started.process.wait(0.5)
    started.stop()  # its server is gone: standard input closes
    assert started.process.returncode == 0
    assert not Path(started.socket_path).exists()


def test_a_call_pickles_with_its_work_and_refusal() -> None:
    call = Call(partial(note, "x", 201), refused=record_refusal)
    again = pickle.loads(pickle.dumps(call))
    assert again.work.func is note and again.work.args == ("x", 201) and again.refused is record_refusal


class Unreadable:
    """Pickles, but does not unpickle (in the writer as anywhere)."""

    def __reduce__(self):
        return (_refuse_to_load, ())


def _refuse_to_load():
    raise ValueError("not here")


def test_a_call_the_writer_cannot_read_is_answered_with_why_and_the_next_goes_on(started, database: str) -> None:
    async def scenario() -> list[object]:
        client = WriterClient(started.socket_path)
        answers = await asyncio.gather(client.submit(Call(Unreadable())), return_exceptions=True)  # type: ignore[arg-type]
        answers.append(await client.submit(Call(partial(note, "next", 201))))  # the same connection goes on
        await client.close()
        return answers

    unreadable, following = asyncio.run(scenario())
    assert isinstance(unreadable, RuntimeError) and "could not read the call" in str(unreadable)
    assert following == "next" and rows(database) == {"next": 1}


def test_the_writer_starts_from_a_process_holding_more_descriptors_than_select_takes(database: str) -> None:
    """A server (or a long test run) may hold descriptors numbered above FD_SETSIZE (1,024) when it starts its
    writer; `select.select` refused the writer's pipe then ("filedescriptor out of range")."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"this system allows {hard} descriptors a process")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200) if hard == resource.RLIM_INFINITY else hard, hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    env = {**os.environ, "PUHUI_DATABASE_URL": database, "PUHUI_FRAUD_CHECKS": "false"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    try:
        started = writer_module.start("puhui.app:writer_setup", env)
        assert started.process.stdout is not None and started.process.stdout.fileno() > 1024
        started.stop()
    finally:
        for descriptor in held:
            os.close(descriptor)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
