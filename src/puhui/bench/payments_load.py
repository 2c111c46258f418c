"""The load client of `puhui bench payments --deployed`: its own process, so the server's workers and
the client never share an interpreter (nor its GIL).

`python -m puhui.bench.payments_load < spec.json` prints one JSON result. The spec gives `base_url`,
`clients` (C concurrent asyncio tasks, each over its own keep-alive HTTP/1.1 connection), `count`,
`max_seconds`, and either `"health": true` (GET /health) or `requests`: one `[path, headers, body]`
POST per slot. Tasks take slots from a shared counter until all are done or the time is up; each
request's latency is measured from just before it is sent to its answer.

The client speaks HTTP/1.1 itself over asyncio streams: on the 2-core machine the server shares with
it, httpx took about 3 ms of CPU a request (more than the server's /health), so the client's own cost
decided the rates it measured.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit


def percentile(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return 0.0
    return sorted_ms[min(len(sorted_ms) - 1, max(0, round(q * (len(sorted_ms) - 1))))]


class Connection:
    """One keep-alive HTTP/1.1 connection: a request, then its whole answer (Content-Length bodies)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        length, closing = 0, False
        for line in header_lines:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                closing = True
        payload = await self.reader.readexactly(length) if length else b""
        if closing:
            await self.close()
        return int(status_line.split(" ", 2)[1]), payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


async def drive(spec: dict[str, Any]) -> dict[str, Any]:
    clients, count = int(spec["clients"]), int(spec["count"])
    requests = spec.get("requests") or []
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()  # a 202's payment status (held, challenged)
    state = {"next": 0}
    url = urlsplit(spec["base_url"])
    host, port = url.hostname or "127.0.0.1", url.port or 80
    json_body = {"Content-Type": "application/json"}
    started = time.perf_counter()
    deadline = started + float(spec["max_seconds"])

    async def one(connection: Connection, i: int) -> tuple[int, bytes]:
        if spec.get("health"):
            return await connection.request("GET", "/health", {})
        path, headers, body = requests[i]
        return await connection.request("POST", path, {**headers, **json_body}, json.dumps(body).encode())

    async def task() -> None:
        connection = Connection(host, port)
        try:
            while time.perf_counter() < deadline and state["next"] < count:
                i = state["next"]
                state["next"] = i + 1
                t0 = time.perf_counter()
                try:
                    code, payload = await asyncio.wait_for(one(connection, i), timeout=60.0)
                    status = str(code)
                    if code == 202:
                        outcomes[str(json.loads(payload).get("status", "held"))] += 1
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as error:
                    status = type(error).__name__
                    await connection.close()
                latencies.append((time.perf_counter() - t0) * 1000)
                statuses[status] += 1
        finally:
            await connection.close()

    await asyncio.gather(*(task() for _ in range(clients)))
    wall = time.perf_counter() - started
    latencies.sort()
    ok = sum(n for s, n in statuses.items() if s.startswith("2"))
    return {
        "done": len(latencies),
        "ok": ok,
        "accepted": statuses.get("202", 0),
        "outcomes_202": dict(outcomes),
        "seconds": wall,
        "per_s": ok / wall if wall > 0 else 0.0,
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "errors": {s: n for s, n in sorted(statuses.items()) if not s.startswith("2")},
        "latencies_ms": latencies,  # sorted, for a caller pooling several phases
    }


def main() -> None:
    spec = json.load(sys.stdin)
    print(json.dumps(asyncio.run(drive(spec))))


if __name__ == "__main__":
    main()
