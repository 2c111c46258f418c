"""The load client of `puhui bench payments --deployed`: its own process, so the server's workers and
the client never share an interpreter (nor its GIL).

`python -m puhui.bench.payments_load < spec.json` prints one JSON result. The spec gives `base_url`,
`clients` (C concurrent asyncio tasks over one keep-alive httpx pool of C connections), `count`,
`max_seconds`, and either `"health": true` (GET /health) or `requests`: one `[path, headers, body]`
POST per slot. Tasks take slots from a shared counter until all are done or the time is up; each
request's latency is measured from just before it is sent to its answer.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any


def percentile(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return 0.0
    return sorted_ms[min(len(sorted_ms) - 1, max(0, round(q * (len(sorted_ms) - 1))))]


async def drive(spec: dict[str, Any]) -> dict[str, Any]:
    import httpx

    clients, count = int(spec["clients"]), int(spec["count"])
    requests = spec.get("requests") or []
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()  # a 202's payment status (held, challenged)
    state = {"next": 0}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=spec["base_url"], timeout=60.0, limits=limits) as http:
        started = time.perf_counter()
        deadline = started + float(spec["max_seconds"])

        async def one(i: int) -> httpx.Response:
            if spec.get("health"):
                return await http.get("/health")
            path, headers, body = requests[i]
            return await http.post(path, headers=headers, json=body)

        async def task() -> None:
            while time.perf_counter() < deadline and state["next"] < count:
                i = state["next"]
                state["next"] = i + 1
                t0 = time.perf_counter()
                try:
                    answer = await one(i)
                    status = str(answer.status_code)
                    if answer.status_code == 202:
                        outcomes[str(answer.json().get("status", "held"))] += 1
                except httpx.HTTPError as error:
                    status = type(error).__name__
                latencies.append((time.perf_counter() - t0) * 1000)
                statuses[status] += 1

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
    }


def main() -> None:
    spec = json.load(sys.stdin)
    print(json.dumps(asyncio.run(drive(spec))))


if __name__ == "__main__":
    main()
