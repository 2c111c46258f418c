"""A newcomer's first hour (issue 12): `puhui serve --demo` as its own process on a fresh home, then the
README's walk-through exactly as written, with the variables the demo printed: read a simulated customer
and merchant, top up (credited once the sandbox clock moves past the bank's delay), P2P, QR pay, refund,
a loan, the money-market fund, day-by-day settlement and end of day, a case reported. No answer may be
a server error, and `puhui audit` must pass on the demo's database afterwards."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
WALK_TITLE = "## A first hour with the demo"
SIZE = {"PUHUI_DEMO_CUSTOMERS": "40", "PUHUI_DEMO_DAYS": "6"}  # a small market: the walk, not the simulation


def readme_walk() -> str:
    """Every ```bash block of the README in order: the ledger example, then the walk-through."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    walk = re.findall(r"```bash\n(.*?)```", text.split(WALK_TITLE, 1)[1].split("\n## ", 1)[0], re.S)
    assert len(blocks) >= 2 and walk, "the README's ledger example and walk-through are bash blocks"
    return "\n".join(blocks)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_environment(home: Path) -> dict[str, str]:
    """A new user's environment: a fresh home and data dir, none of the test session's PUHUI_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUHUI_")}
    return {
        **env,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        **SIZE,
    }


def wait_for_line(log: Path, pattern: str, process: subprocess.Popen, seconds: float) -> re.Match:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = re.search(pattern, log.read_text(encoding="utf-8", errors="replace"), re.M)
        if found:
            return found
        assert process.poll() is None, f"serve --demo exited {process.returncode}:\n{log.read_text()}"
        time.sleep(0.2)
    raise AssertionError(f"no line matching {pattern!r} within {seconds} s:\n{log.read_text()}")


@pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("bash") is None, reason="the README's walk-through is bash with curl"
)
def test_the_readme_walk_through_on_a_fresh_demo(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = clean_environment(home)
    port, log = free_port(), tmp_path / "serve.log"
    puhui = str(Path(sys.executable).parent / "puhui")
    with log.open("w") as out:
        server = subprocess.Popen(
            [puhui, "serve", "--demo", "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path
        )
    try:
        base = f"http://localhost:{port}"
        first = _first_health(base, server)
        assert first["status"] in ("starting", "ok"), first
        shell_file = Path(wait_for_line(log, r"^\s+\. (\S+demo\.sh)\s", server, 300).group(1))
        assert shell_file.is_relative_to(home), shell_file  # the demo lives in the new user's data dir
        assert httpx.get(f"{base}/health", timeout=10).json()["ready"] is True

        walk = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", f". {shell_file}\n{readme_walk()}"],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=600,
        )
        assert walk.returncode == 0, f"{walk.stdout}\n{walk.stderr}\n--- server ---\n{log.read_text()[-6000:]}"
        assert '{"results":[{"id":"t-1","result":"ok"}]}' in walk.stdout.splitlines(), walk.stdout
        lines = walk.stdout.split()
        assert lines.count("succeeded") == 1 and "pending" in lines, walk.stdout  # the top-up, then its status
        assert "qr_refund" in lines, walk.stdout  # the refund heads the payer's statement
        assert re.search(r"fund income 0\.\d*[1-9]", walk.stdout), walk.stdout
        # the served demo kept the bank that settled its seeded top-ups: each day reconciles
        assert re.search(r"^unmatched bank orders by day: (0 )+$", walk.stdout, re.M), walk.stdout
        case = lines.index("assigned")
        assert "paid" in lines and lines[case : case + 4] == ["assigned", "investigating", "escalated", "reported"]
        # then the real-name section: 李娜 verifies two more channels herself and takes Class III
        real_name = ["details_mismatch", "['bank_card', 'face', 'mobile_operator', 'public_security']", "III", "III"]
        assert walk.stdout.splitlines()[-4:] == real_name, walk.stdout
        assert "after log-out: 401" in walk.stdout, walk.stdout  # the session ended at once

        server_errors = re.findall(r'^.*" 5\d\d .*$', log.read_text(encoding="utf-8", errors="replace"), re.M)
        assert not server_errors, server_errors

        demo_env = {**env, "PUHUI_ENV_FILE": _exported(shell_file, "PUHUI_ENV_FILE")}
        audit = subprocess.run([puhui, "audit"], capture_output=True, text=True, env=demo_env, timeout=300)
        assert audit.returncode == 0 and "audit passed" in audit.stdout, audit.stdout + audit.stderr
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def _first_health(base: str, server: subprocess.Popen) -> dict:
    """`/health` answers while the demo world is still being built (issue 12: within seconds)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None, "serve --demo exited"
        try:
            answer = httpx.get(f"{base}/health", timeout=2)
        except httpx.TransportError:
            time.sleep(0.1)
            continue
        assert answer.status_code == 200, answer.text
        return answer.json()
    raise AssertionError("/health did not answer")


def _exported(shell_file: Path, name: str) -> str:
    found = re.search(rf"^export {name}=(.+)$", shell_file.read_text(encoding="utf-8"), re.M)
    assert found, f"{shell_file} sets no {name}"
    return found.group(1).strip("'")
