"""Shared test setup: no test may reach the network, and paths to the shared fixtures."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from bot.store import Store
from tests.support.postgres import (
    PostgresServer,
    PostgresUnavailable,
    ResettableDatabase,
    postgres_required,
)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = SHARED / "fixtures" / "real"
CORPUS = SHARED / "corpus" / "hf_trending_abstracts.jsonl"


def _is_loopback(address: object) -> bool:
    if isinstance(address, (str, bytes)):
        return True  # Unix sockets stay on this machine
    if not (isinstance(address, tuple) and address):
        return False
    host = str(address[0])
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: object) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise ConnectionRefusedError(f"tests may not reach the network (tried {address!r})")
    return _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise ConnectionRefusedError(f"tests may not reach the network (tried {address!r})")
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Refuse every connection that is not to loopback (asyncio uses sock_connect -> connect)."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    yield


@pytest.fixture
def fixtures_dir() -> Path:
    """The real payload fixtures in ../shared."""
    assert FIXTURES.is_dir(), f"shared fixtures not found at {FIXTURES}"
    return FIXTURES


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """An empty store in a file of the test's own (modules with seeded stores override this)."""
    opened = Store.open(str(tmp_path / "db" / "paperbot.db"))
    yield opened
    opened.close()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that needs the PostgreSQL server is marked `postgres` (`-m "not postgres"`
    leaves them out), whichever fixture brought the server in."""
    for item in items:
        if "postgres_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the whole run (tests/support/postgres.py); the tests
    that need it are skipped without the binaries, unless PAPERBOT_TEST_POSTGRES=required."""
    try:
        server = PostgresServer.start()
    except PostgresUnavailable as exc:
        if postgres_required():
            pytest.fail(f"PAPERBOT_TEST_POSTGRES=required but {exc}")
        pytest.skip(str(exc))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _postgres_database(postgres_server: PostgresServer) -> ResettableDatabase:
    """The one migrated database the PostgreSQL tests share, emptied before each of them."""
    return ResettableDatabase.create(postgres_server)


@pytest.fixture
def postgres_url(_postgres_database: ResettableDatabase) -> str:
    """The URL of an empty, migrated PostgreSQL database of the test's own."""
    _postgres_database.reset()
    return _postgres_database.url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database on each backend in turn: a SQLite file, then PostgreSQL."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return str(tmp_path / "db" / "paperbot.db")


@pytest.fixture
def any_store(store_location: str) -> Iterator[Store]:
    """An empty store on each backend in turn (the store contract runs on both)."""
    opened = Store.open(store_location)
    yield opened
    opened.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """One aiohttp session for clients under test."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session
