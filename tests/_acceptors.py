"""What `tests/test_accept.py`'s spawned workers run (importable by name in a spawned child)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from puhui.accept import Acceptor, LoadTable


def accept_in_turns(listener: socket.socket, table_path: str, accepted, stop) -> None:  # type: ignore[no-untyped-def]
    table = LoadTable(Path(table_path))
    table.claim(os.getpid())
    held: list[socket.socket] = []

    def serve(connection: socket.socket) -> None:
        held.append(connection)
        accepted.put(os.getpid())

    acceptor = Acceptor(listener, table, lambda: len(held), serve, patience=5.0)  # turns kept on a busy machine
    acceptor.start(backlog=128)
    stop.wait(60)
    acceptor.stop()
    table.close()
