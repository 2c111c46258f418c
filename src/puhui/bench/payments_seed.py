"""A warm database for `puhui bench payments --deployed`, seeded fast and untimed (预置数据).

Through the packages' own service functions, in units of work of `CHUNK` customers each:

- `customers` customers registered (`identity.customers.register`: sealed PII, blind indexes, a wallet,
  an outbox event), so the customer, account and outbox indexes have their real size; one password
  hash shared by all (hashing is what a sign-up costs, not what a payment does);
- the first `payers` of them verified on five channels and upgraded to Class III (`identity.kyc`) and
  funded from the reserve with one ledger batch of top-ups per chunk;
- `merchants` merchants onboarded (`identity.org.create_merchant`);
- the monitor run once over the whole outbox, as a server that has been up would have done.

The seeded database is cached under the user cache directory, keyed by its parameters and the schema's
revision: a SQLite file copied, a PostgreSQL `pg_dump -Fc` restored with `pg_restore`. Sessions and QR
codes are made per run (`sessions_for`, `dynamic_codes`): codes are single-use and tokens expire.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

LEDGER = "CNY"
RESERVE = "platform.reserve_bank.CNY"
CHANNELS = ("public_security", "bank_card", "face", "mobile_operator", "tax")
FUNDING = 1_000_000  # fen per customer (10,000.00 CNY)
PASSWORD = "bench-password-1"


def new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def id_number(n: int) -> str:
    """A valid resident ID number (GB 11643) of an adult, different for every n below 8,000,000."""
    import datetime as dt

    from stdnum.cn import ric

    regions = ("110105", "310104", "110102")

    birth = dt.date(1970, 1, 1) + dt.timedelta(days=n % 10_000)
    body = f"{regions[n % 3]}{birth:%Y%m%d}{100 + n // 10_000 % 800:03d}"
    return body + ric.calc_check_digit(body + "0")


def credit_code(n: int) -> str:
    from stdnum.cn import uscc

    body = f"9111000060{n:07d}"
    return body + uscc.calc_check_digit(body)


def chinese_number(n: int) -> str:
    return "".join("零一二三四五六七八九"[int(d)] for d in str(n))


CHUNK = 2_000  # customers per unit of work
SEED_VERSION = 1  # bump when what is seeded changes


@dataclass(frozen=True)
class Staff:
    id: str = "bench-admin"
    role: str = "admin"


@dataclass
class Seeded:
    """What a run needs of a seeded database: its secrets, who pays, who is paid."""

    admin_token: str
    pii_keys: str
    pii_index_key: str
    jwt_secret: str
    payers: list[str]
    merchants: list[str]

    def environment(self) -> dict[str, str]:
        """The `PUHUI_*` secrets a server on this database must run with."""
        return {
            "PUHUI_ADMIN_TOKEN": self.admin_token,
            "PUHUI_PII_KEYS": self.pii_keys,
            "PUHUI_PII_INDEX_KEY": self.pii_index_key,
            "PUHUI_JWT_SECRET": self.jwt_secret,
        }

    def settings(self) -> Any:
        from puhui.settings import Settings

        return Settings(
            admin_token=self.admin_token,
            pii_keys=self.pii_keys,
            pii_index_key=self.pii_index_key,
            jwt_secret=self.jwt_secret,
            jwt_ttl_seconds=24 * 3600,
        )


def fresh_secrets() -> dict[str, str]:
    return {
        "admin_token": secrets.token_urlsafe(24),
        "pii_keys": f"bench:{new_key()}",
        "pii_index_key": new_key(),
        "jwt_secret": new_key(),
    }


def cache_key(backend: str, customers: int, merchants: int, payers: int, revision: str) -> str:
    """The cached seed's name: its parameters, the schema's head and the migrations' own text (a
    migration renumbered or changed under the same head must not bring back a database without it)."""
    text = f"{SEED_VERSION}:{backend}:{customers}:{merchants}:{payers}:{revision}:{_migrations_digest()}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _migrations_digest() -> str:
    digest = hashlib.sha256()
    for script in sorted((Path(__file__).parents[1] / "db" / "migrations" / "versions").glob("*.py")):
        digest.update(script.name.encode() + b"\0" + script.read_bytes())
    return digest.hexdigest()


def cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("puhui")) / "bench-payments"


def seed(engine: Engine, *, customers: int, merchants: int, payers: int, on_progress: Callable[[int], None]) -> Seeded:
    """Seed `engine` (migrated, empty); `on_progress(n)` after every n customers or merchants."""
    from puhui.db import transaction
    from puhui.identity import auth, kyc, org
    from puhui.identity import customers as people
    from puhui.identity.models import VerificationChannel
    from puhui.identity.pii import vault_for
    from puhui.ledger.models import Transfer
    from puhui.ledger.service import create_transfers

    found = Seeded(**fresh_secrets(), payers=[], merchants=[])
    vault, staff = vault_for(found.settings()), Staff()
    password_hash = auth.hash_password(PASSWORD)
    channels = [VerificationChannel(c) for c in CHANNELS]

    def chunk(start: int, stop: int) -> Callable[[Any], list[str]]:
        def work(uow: Any) -> list[str]:
            made = []
            for n in range(start, stop):
                data = people.Registration(f"用户{chinese_number(n)}", id_number(n), f"139{n:08d}", None, password_hash)
                cid = people.register(uow, vault, data)
                if n < payers:
                    for channel in channels:
                        kyc.record_verification(uow, cid, channel, f"B-{n}-{channel.value}", True, staff)
                    kyc.upgrade_tier(uow, cid, staff, "bench")
                    made.append(cid)
            if made:
                top_ups = [Transfer(f"bench.fund.{c}", RESERVE, f"wallet.{c}", FUNDING, LEDGER, "top_up") for c in made]
                for result in create_transfers(uow, top_ups):
                    if result.value != "ok":
                        raise RuntimeError(f"seeding: funding a payer: {result.value}")
            return made

        return work

    for start in range(0, customers, CHUNK):
        stop = min(customers, start + CHUNK)
        found.payers += transaction(engine, chunk(start, stop))
        on_progress(stop - start)

    def shops(uow: Any) -> list[str]:
        made = []
        for n in range(merchants):
            application = org.MerchantApplication(
                name=f"商户{chinese_number(n)}",
                credit_code=credit_code(n),
                settlement_account=f"6222{n:012d}",
                settlement_holder=f"店主{chinese_number(n)}",
                settlement_bank="工商银行",
            )
            made.append(org.create_merchant(uow, vault, application, staff)[0])
        return made

    found.merchants = transaction(engine, shops)
    on_progress(merchants)
    _catch_up_monitor(engine)
    return found


def _catch_up_monitor(engine: Engine) -> None:
    """Run the monitor over the seeded outbox once: a server that had been up would have."""
    from puhui.regtech.monitor import Monitor

    monitor = Monitor(engine)
    monitor.run()


def sessions_for(engine: Engine, seeded: Seeded) -> list[str]:
    """A fresh session token for every payer (what logging in gives), in one unit of work."""
    from puhui.db import transaction
    from puhui.identity import sessions

    settings = seeded.settings()

    def work(uow: Any) -> list[str]:
        return [sessions.start(uow, settings.jwt_secret, settings.jwt_ttl_seconds, cid).token for cid in seeded.payers]

    return transaction(engine, work)


def dynamic_codes(engine: Engine, merchants: list[str], count: int, tag: str) -> list[str]:
    """`count` dynamic QR codes (动态码) for small amounts, spread over the merchants, valid for an hour."""
    from puhui.db import transaction
    from puhui.payments.models import QrKind
    from puhui.payments.service import create_qr

    def work(uow: Any) -> list[str]:
        return [
            create_qr(uow, merchants[i % len(merchants)], QrKind.dynamic, 100 + (i * 37) % 800, 3600, f"B-{tag}-{i}")[
                "id"
            ]
            for i in range(count)
        ]

    return transaction(engine, work)


# -- the cache --------------------------------------------------------------------------------------


def load_cached(url: str, backend: str, key: str) -> Seeded | None:
    """Restore the cached database for `key` into the empty database at `url`; None when not cached."""
    directory = cache_dir()
    meta, data = directory / f"{key}.json", directory / (f"{key}.db" if backend == "sqlite" else f"{key}.dump")
    if not (meta.is_file() and data.is_file()):
        return None
    if backend == "sqlite":
        shutil.copyfile(data, _sqlite_path(url))
    else:
        subprocess.run(
            [_tool("pg_restore"), "--no-owner", "--exit-on-error", "-d", _libpq(url), str(data)],
            check=True,
            capture_output=True,
        )
    return Seeded(**json.loads(meta.read_text(encoding="utf-8")))


def store_cached(engine: Engine, url: str, backend: str, key: str, seeded: Seeded) -> None:
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        import sqlite3

        engine.dispose()
        part = directory / f"{key}.db.part"
        part.unlink(missing_ok=True)
        with contextlib.closing(sqlite3.connect(_sqlite_path(url))) as source:
            with contextlib.closing(sqlite3.connect(part)) as copy:
                source.backup(copy)  # a consistent copy, whatever is still in the WAL
        part.replace(directory / f"{key}.db")
    else:
        part = directory / f"{key}.dump.part"
        subprocess.run([_tool("pg_dump"), "-Fc", "-f", str(part), _libpq(url)], check=True, capture_output=True)
        part.replace(directory / f"{key}.dump")
    (directory / f"{key}.json").write_text(json.dumps(asdict(seeded)), encoding="utf-8")


def _sqlite_path(url: str) -> str:
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    assert database, url
    return database


def _libpq(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    from puhui.db.embedded import find_pg_tool

    found = find_pg_tool(name)
    if found is None:
        raise RuntimeError(f"{name} is not available to cache the seeded database")
    return found
