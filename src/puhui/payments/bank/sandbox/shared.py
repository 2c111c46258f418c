"""One sandbox bank for several processes (共享的沙箱银行): its books in a JSON state file.

A real bank is one bank whoever calls it: the server, `puhui settle` and `puhui reconcile` all see the
same orders. The sandbox bank lives in memory, so `puhui serve --demo` keeps its state in the demo's
directory (`demo_home.BANK_STATE_NAME`, named by `PUHUI_SANDBOX_BANK_STATE` in the demo's settings file)
and every `puhui` command on the demo opens the same file: a reconciliation matches the statement of the
bank that took the day's orders, and a payout a command settles is one the server's bank worker delivers.

`SharedSandboxBank` wraps a `SandboxBank`: each call takes an exclusive lock on `<file>.lock` (`flock`,
POSIX; one process elsewhere), loads the file again when another process replaced it, runs, and writes
the state back (atomically, `SandboxBank.save`) when the call changed it. A restarted server opens the
same file, so its bank keeps its books and its references.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from puhui.payments.bank.channel import NotificationCallback
from puhui.payments.bank.sandbox.bank import SandboxBank
from puhui.payments.bank.sandbox.plan import FaultPlan

try:  # POSIX: processes exclude one another; elsewhere the threads of one process do
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

STATE_ENV = "PUHUI_SANDBOX_BANK_STATE"
"""The variable (in the environment or the demo's settings file) naming the shared bank's state file."""


class SharedSandboxBank:
    """A `SandboxBank` whose state file is the bank: every call sees what other processes did to it.

    Any attribute of `SandboxBank` is available; callables run under the file's lock."""

    def __init__(self, path: str | os.PathLike[str], key: bytes | str, *, plan: FaultPlan | None = None) -> None:
        self.path = Path(path)
        self._key, self._plan = key, plan
        self._lock = threading.RLock()
        self._depth = 0
        self._handle: int | None = None
        self._seen: tuple[int, int] | None = None
        self._callback: NotificationCallback | None = None
        self._bank = SandboxBank.load(self.path, key=key, plan=plan)
        self._seen = self._stamp()

    @classmethod
    def adopt(
        cls, path: str | os.PathLike[str], bank: SandboxBank, key: bytes | str, *, plan: FaultPlan | None = None
    ) -> SharedSandboxBank:
        """`bank` (e.g. the one that settled the demo's seeded top-ups) becomes the state kept at `path`."""
        bank.save(path)
        return cls(path, key, plan=plan)

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        key: bytes | str,
        make: Callable[[], SandboxBank],
        *,
        plan: FaultPlan | None = None,
    ) -> SharedSandboxBank:
        """The bank kept at `path`, or `make()`'s, kept there from now on."""
        if Path(path).exists():
            return cls(path, key, plan=plan)
        return cls.adopt(path, make(), key, plan=plan)

    # -- the lock and the file ---------------------------------------------------------------------

    def _stamp(self) -> tuple[int, int] | None:
        try:
            status = self.path.stat()
        except FileNotFoundError:
            return None
        return status.st_ino, status.st_mtime_ns

    @contextmanager
    def _books(self) -> Iterator[SandboxBank]:
        with self._lock:
            outermost = self._depth == 0
            self._depth += 1
            try:
                if not outermost:
                    yield self._bank
                    return
                self._handle = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    if fcntl is not None:
                        fcntl.flock(self._handle, fcntl.LOCK_EX)
                    if self._stamp() != self._seen:  # another process changed the bank
                        self._bank = SandboxBank.load(self.path, key=self._key, plan=self._plan)
                        self._bank.register_callback(self._callback)
                    before = self._bank.document()
                    try:
                        yield self._bank
                    finally:
                        if self._bank.document() != before:
                            self._bank.save(self.path)
                        self._seen = self._stamp()
                finally:
                    os.close(self._handle)  # closing releases the lock
                    self._handle = None
            finally:
                self._depth -= 1

    # -- the bank ------------------------------------------------------------------------------------

    def register_callback(self, callback: NotificationCallback | None) -> None:
        with self._lock:
            self._callback = callback
            self._bank.register_callback(callback)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if isinstance(getattr(SandboxBank, name, None), property):
            with self._books() as bank:
                return getattr(bank, name)
        value = getattr(self._bank, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._books() as bank:
                return getattr(bank, name)(*args, **kwargs)

        return call
