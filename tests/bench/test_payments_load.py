"""The benchmark's own HTTP/1.1 load client against a tiny server: every answer is read whole over
kept-alive connections, 202 answers are told apart by their status, and a dropped connection is an
error that the next request survives."""

from __future__ import annotations

import asyncio
import json

from puhui.bench.payments_load import drive


async def _serve(connections: list[int]) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            lines = head.decode().split("\r\n")
            length = next(int(x.split(":")[1]) for x in lines if x.lower().startswith("content-length"))
            body = json.loads(await reader.readexactly(length)) if length else {}
            if body.get("drop"):
                writer.close()
                return
            status, answer = (202, {"status": "held"}) if body.get("hold") else (201, {"id": lines[0].split()[1]})
            data = json.dumps(answer).encode()
            writer.write(f"HTTP/1.1 {status} X\r\ncontent-length: {len(data)}\r\n\r\n".encode() + data)
            await writer.drain()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def test_the_load_client_reads_answers_whole_and_counts_outcomes_and_errors() -> None:
    async def scenario() -> dict:
        connections: list[int] = []
        server = await _serve(connections)
        port = server.sockets[0].getsockname()[1]
        requests = [[f"/pay/{i}", {"Idempotency-Key": str(i)}, {"hold": i % 5 == 0, "drop": i == 7}] for i in range(40)]
        spec = {"base_url": f"http://127.0.0.1:{port}", "clients": 4, "count": 40, "max_seconds": 30}
        spec["requests"] = requests
        result = await drive(spec)
        server.close()
        result["connections"] = len(connections)
        return result

    result = asyncio.run(scenario())
    assert result["done"] == 40 and result["ok"] == 39
    assert result["accepted"] == 8 and result["outcomes_202"] == {"held": 8}
    assert result["errors"] == {"IncompleteReadError": 1}
    assert result["connections"] == 5  # four kept alive, and one more after the dropped one
