"""Simulator tests. `migrated_copy` gives a run its own SQLite file, copied from the migrated template."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import Engine

from puhui.db import create_engine_from_url


def migrated_copy(template: Path, target: Path) -> Engine:
    shutil.copyfile(template, target)
    return create_engine_from_url(f"sqlite:///{target}")
