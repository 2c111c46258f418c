"""Joint-lending tables, on the platform's one `metadata`."""

from __future__ import annotations

from puhui.db.tables import metadata  # noqa: F401
