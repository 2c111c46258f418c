"""The published spec, `docs/openapi.json` (`puhui openapi --out docs/openapi.json`): the document of the
app as a sandbox serves it (`serve --demo`: the sandbox's clock routes included), built without a database,
secrets or environment, so that it is the same on every machine and every run."""

from __future__ import annotations

import json
from typing import Any

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from puhui.app import create_app
from puhui.db import create_engine_from_url
from puhui.sandbox import api as sandbox_api
from puhui.settings import Settings

PUBLISHED = "docs/openapi.json"


class Defaults(Settings):
    """The settings' defaults, whatever the environment says (`PUHUI_*` is not read)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)  # only what is passed in counts


def spec() -> dict[str, Any]:
    """The app's OpenAPI document, sandbox routes included. The sandbox router is added by hand: a sandbox
    app would install its clock, which needs a migrated database; the routes are the same."""
    app = create_app(create_engine_from_url("sqlite://"), Defaults.model_validate({"sandbox": False}), run_expiry=False)
    app.include_router(sandbox_api.router)
    return app.openapi()


def text(document: dict[str, Any]) -> str:
    """The document as published: pretty-printed, keys sorted, one trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
