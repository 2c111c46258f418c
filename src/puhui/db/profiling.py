"""Instruments for benchmarking a server process (`puhui bench payments --profile`), never on in production.

`install(engine, directory)` counts every SQL statement the engine sends, by its text, and runs cProfile in
every thread (the event loop's, the request threads', the group committer's). Two signals steer it from the
benchmark: SIGUSR1 starts the measured phase (counts and profiles cleared), SIGUSR2 ends it and writes
`<pid>.sql.json` (statement text -> count) and `<pid>-<n>.prof` (one marshalled cProfile per thread,
readable with `pstats.Stats(*files)`) into `directory`.
"""

from __future__ import annotations

import cProfile
import json
import marshal
import os
import re
import signal
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

_PLACEHOLDERS = re.compile(r"(\?|%\([a-z0-9_]+\)s|:[a-z0-9_]+)(\s*,\s*(\?|%\([a-z0-9_]+\)s|:[a-z0-9_]+))+", re.I)


def shape(statement: str) -> str:
    """A statement's text with whitespace folded and any list of placeholders as one `...`."""
    return _PLACEHOLDERS.sub("...", " ".join(statement.split()))


class Instruments:
    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)
        self.statements: Counter[str] = Counter()
        self.profiles: list[cProfile.Profile] = []
        self.lock = threading.Lock()

    def count(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements[shape(statement)] += 1  # Counter updates are atomic enough under the GIL for a tally

    def profile_this_thread(self, *_: Any) -> None:
        """`threading.setprofile` hook: the thread's first call replaces it with the thread's own cProfile."""
        profile = cProfile.Profile()
        with self.lock:
            self.profiles.append(profile)
        sys.setprofile(None)
        profile.enable()

    def start(self, *_: Any) -> None:
        self.statements.clear()
        with self.lock:
            for profile in self.profiles:
                profile.clear()

    def write(self, *_: Any) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        pid = os.getpid()
        (self.directory / f"{pid}.sql.json").write_text(json.dumps(dict(self.statements)), encoding="utf-8")
        with self.lock:
            profiles = list(self.profiles)
        for n, profile in enumerate(profiles):
            profile.snapshot_stats()  # type: ignore[attr-defined]  # cProfile.Profile's own, used by dump_stats
            with open(self.directory / f"{pid}-{n}.prof", "wb") as out:
                marshal.dump(profile.stats, out)  # type: ignore[attr-defined]


def install(engine: Engine, directory: str) -> Instruments:
    instruments = Instruments(directory)
    event.listen(engine, "before_cursor_execute", instruments.count)
    threading.setprofile(instruments.profile_this_thread)
    main = cProfile.Profile()
    instruments.profiles.append(main)
    main.enable()
    signal.signal(signal.SIGUSR1, instruments.start)
    signal.signal(signal.SIGUSR2, instruments.write)
    return instruments
