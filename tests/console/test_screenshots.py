"""`puhui console screenshots` on one page pair: a fresh demo world served live, chromium signs the
customer in and writes /app in zh_CN and en as PNGs (skipped without chromium, except in CI); without a
browser the command says so and exits 2."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from puhui import console_screenshots as screenshots
from puhui.cli import app

from .live import need_chromium

PNG = b"\x89PNG\r\n\x1a\n"


def test_the_command_writes_the_app_page_in_both_languages(tmp_path: Path) -> None:
    need_chromium()
    result = CliRunner().invoke(app, ["console", "screenshots", "--out", str(tmp_path), "--page", "/app"])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["app.en.png", "app.zh_CN.png"]
    shots = [(tmp_path / name).read_bytes() for name in written]
    assert all(len(shot) > 1000 and shot.startswith(PNG) for shot in shots)
    assert shots[0] != shots[1]  # the English page is not the Chinese one


def test_without_chromium_the_command_says_so_and_exits_2(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(screenshots, "CHROMIUM", tmp_path / "no-chromium")
    result = CliRunner().invoke(app, ["console", "screenshots", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "chromium is missing" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_an_unknown_page_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    need_chromium()
    result = CliRunner().invoke(app, ["console", "screenshots", "--out", str(tmp_path), "--page", "/nowhere"])
    assert result.exit_code == 2 and "/supervision" in result.output
    assert list(tmp_path.iterdir()) == []
