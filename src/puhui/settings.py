"""Settings in one place, from the environment (`PUHUI_*`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_url() -> str:
    data_dir = Path(platformdirs.user_data_dir("puhui"))
    return f"sqlite:///{data_dir / 'puhui.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PUHUI_", extra="ignore")

    database_url: str = ""
    admin_token: str = ""
    expiry_interval_seconds: float = 1.0

    def resolved_database_url(self) -> str:
        return self.database_url or default_database_url()


@lru_cache
def get_settings() -> Settings:
    return Settings()
