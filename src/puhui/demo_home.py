"""Where `puhui serve --demo` keeps its world (演示环境): a directory in the user data dir holding the
database, a dotenv file of the demo's settings and the credentials shown at seeding.

The directory is its owner's alone (mode 0700): the database holds the ledger and the transactions, and
SQLite makes its files with the default umask. The secrets (admin token, PII keys, blind-index key, JWT
secret) are generated once and kept in the dotenv file (mode 0600), so the simulator, the server, every
`puhui` command given `PUHUI_ENV_FILE=<that file>` and a later start all open the same personal data and
accept the same tokens. A value set in the environment wins over the file and is never written to it.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shlex
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from puhui.identity.vault import generate_key
from puhui.payments.bank.sandbox.shared import STATE_ENV
from puhui.settings import Settings

ENV_NAME = "puhui.env"
DATABASE_NAME = "demo.db"
CREDENTIALS_NAME = "credentials.txt"
PEOPLE_NAME = "people.json"  # the seeded world's ids and secrets, for the shell variables of each start
SHELL_NAME = "demo.sh"
BANK_STATE_NAME = "bank.json"  # the server's sandbox bank, shared with every puhui command (`sandbox.shared`)


def _jwt_secret() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


# setting -> how the demo makes one when neither the environment nor the file has it
GENERATED = {
    "admin_token": lambda: secrets.token_urlsafe(24),
    "pii_keys": lambda: f"demo:{generate_key()}",
    "pii_index_key": generate_key,
    "jwt_secret": _jwt_secret,
}


@dataclass(frozen=True)
class DemoHome:
    directory: Path
    database_url: str
    env_file: Path
    credentials_file: Path
    fresh: bool  # no usable world was there: the database is built at this start
    bank_state: Path | None = None  # the sandbox bank's state file, for the demo's own database only

    def exports(self) -> str:
        return f"export PUHUI_ENV_FILE={self.env_file}"

    @property
    def shell_file(self) -> Path:
        return self.directory / SHELL_NAME


def demo_directory() -> Path:
    return Path(platformdirs.user_data_dir("puhui")) / "demo"


def read_env(path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            name, sep, value = line.partition("=")
            if sep and not name.lstrip().startswith("#"):
                found[name.strip()] = value.strip()
    return found


def prepare_home(settings: Settings, database_url: str | None) -> tuple[Settings, DemoHome]:
    """The demo's settings (sandbox on, secrets from the environment, the file, or new) and its home.
    A database the demo made earlier whose keys are lost is removed: nothing in it could be opened."""
    directory = demo_directory()
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)  # the database and its lock files inside are the owner's alone, like the secrets
    env_file = directory / ENV_NAME
    stored = read_env(env_file)
    own_database = database_url is None
    url = database_url or f"sqlite:///{directory / DATABASE_NAME}"
    keys_lost = not stored and own_database
    bank_state = directory / BANK_STATE_NAME if own_database else None
    if keys_lost:
        for name in (DATABASE_NAME, f"{DATABASE_NAME}-wal", f"{DATABASE_NAME}-shm", BANK_STATE_NAME):
            (directory / name).unlink(missing_ok=True)
    updates: dict[str, object] = {"sandbox": True, "database_url": url}
    to_store = {"PUHUI_DATABASE_URL": url, "PUHUI_SANDBOX": "true"}
    if bank_state is not None:  # the server keeps its bank there; `puhui settle` and `reconcile` use the same one
        to_store[STATE_ENV] = str(bank_state)
    for name, make in GENERATED.items():
        variable = f"PUHUI_{name.upper()}"
        if os.environ.get(variable):  # the operator's own secret: used, never written to disk
            continue
        value = stored.get(variable) or make()
        updates[name], to_store[variable] = value, value
    _write_private(
        env_file,
        "# puhui serve --demo: the demo's settings and secrets. `export PUHUI_ENV_FILE="
        f"{env_file}`\n# and every puhui command runs on the demo's database with its keys.\n"
        + "".join(f"{k}={v}\n" for k, v in to_store.items()),
    )
    fresh = keys_lost or not (directory / DATABASE_NAME).exists() if own_database else False
    home = DemoHome(directory, url, env_file, directory / CREDENTIALS_NAME, fresh, bank_state)
    return settings.model_copy(update=updates), home


def _write_private(path: Path, text: str) -> None:
    """Write `text` readable by its owner only, replacing the file in one step."""
    partial = path.with_suffix(path.suffix + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(partial, path)


def save_credentials(home: DemoHome, text: str) -> None:
    _write_private(home.credentials_file, text + "\n")


def saved_credentials(home: DemoHome) -> str | None:
    return home.credentials_file.read_text(encoding="utf-8").rstrip("\n") if home.credentials_file.is_file() else None


def save_people(home: DemoHome, world) -> None:
    """The seeded world's first merchant and staff, kept (0600) so every start can write `demo.sh`."""
    merchant = world.merchants[0]
    people = {
        "MERCHANT": merchant["id"],
        "MERCHANT_KEY": merchant["api_key"],
        **{f"{s['role'].upper()}_TOKEN": s["token"] for s in world.staff},
    }
    _write_private(home.directory / PEOPLE_NAME, json.dumps(people, ensure_ascii=False))


def write_shell(home: DemoHome, base: str, admin_token: str) -> Path:
    """`demo.sh`: `. demo.sh` sets PUHUI_ENV_FILE and the variables the README's walk-through uses
    (BASE, TOKEN, MERCHANT, MERCHANT_KEY, REGULATOR_TOKEN, RISK_OFFICER_TOKEN) for this start."""
    people_file = home.directory / PEOPLE_NAME
    people = json.loads(people_file.read_text(encoding="utf-8")) if people_file.is_file() else {}
    names = {"PUHUI_ENV_FILE": str(home.env_file), "BASE": base, "TOKEN": admin_token, **people}
    _write_private(
        home.shell_file,
        "# . this file: the demo's settings and people for puhui commands and curl\n"
        + "".join(f"export {k}={shlex.quote(v)}\n" for k, v in names.items()),
    )
    return home.shell_file
