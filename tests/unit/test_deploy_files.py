"""The Dockerfile and compose.yaml use only what the project has: every file the image copies
exists, every `paperbot` command is a real subcommand, the health check asks a route the web
server serves, every environment key is a setting, the ports are the HTTP_PORT default, and the
replicas' Discord shards are valid and distinct. (The image itself cannot be built here: base
images cannot be pulled.)"""

from __future__ import annotations

import argparse
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli.main import build_parser
from bot.core.clock import FakeClock
from bot.core.metrics import Metrics
from bot.enrich.summarize import Summaries
from bot.search.engine import SearchEngine
from bot.settings import Settings, env_key
from bot.web.pages import Site
from bot.web.server import build_app
from tests.support.factories import T0, new_store

REPO = Path(__file__).resolve().parents[2]
# Variables the image or compose set that are not paperbot settings (Python's and PATH).
NOT_SETTINGS = {"PATH", "PYTHONUNBUFFERED", "PIP_NO_CACHE_DIR", "PIP_DISABLE_PIP_VERSION_CHECK"}


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: its keyword and the rest of its (joined) lines."""

    keyword: str
    args: str


def dockerfile() -> list[Instruction]:
    """The Dockerfile's instructions, comments dropped and continued lines joined."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in (REPO / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or (line.startswith("#") and not pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip()))
        pending = ""
    return instructions


def words(args: str) -> list[str]:
    """An instruction's arguments, in exec (JSON) form or shell form."""
    return list(json.loads(args)) if args.startswith("[") else shlex.split(args)


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((REPO / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def paperbot_services() -> dict[str, dict[str, Any]]:
    return {name: service for name, service in compose()["services"].items() if "build" in service}


def subcommands() -> set[str]:
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(actions[0].choices)


def setting_keys() -> set[str]:
    return {env_key(name) for name in Settings.model_fields}


def check_paperbot_command(command: list[str]) -> None:
    assert command[0] == "paperbot", command
    assert command[1] in subcommands(), f"`paperbot {command[1]}` is not a subcommand"
    build_parser().parse_args(command[1:])  # its options parse too (exits on an unknown one)


async def served_paths() -> set[str]:
    """The paths of the web server's own routes, from the real application."""
    store, clock = new_store(), FakeClock(T0)
    settings = Settings()
    site = Site(store=store, search=SearchEngine(store), summaries=Summaries(store, clock=clock), clock=clock,
                settings=settings, refresh_every=3600, link_secret="secret")
    app = build_app(site, health=lambda: {"ok": True, "store": "ok", "adapters": {}, "sources": {}},
                    ready=lambda: True, metrics=Metrics())
    return {resource.canonical for resource in app.router.resources()}


# --- Dockerfile ---------------------------------------------------------------------------------


def test_the_dockerfile_is_multi_stage_and_runs_as_a_user_who_is_not_root() -> None:
    instructions = dockerfile()
    stages = [i.args for i in instructions if i.keyword == "FROM"]
    assert len(stages) >= 2 and " AS builder" in stages[0]
    last_stage = max(n for n, i in enumerate(instructions) if i.keyword == "FROM")
    users = [i.args for i in instructions[last_stage:] if i.keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    copies = [i for i in instructions[last_stage:] if i.keyword == "COPY"]
    assert copies and all(i.args.startswith("--from=builder") for i in copies)  # no sources: the venv


def test_every_file_the_image_copies_exists_in_the_repository() -> None:
    copied = [words(i.args) for i in dockerfile() if i.keyword == "COPY" and not i.args.startswith("--from=")]
    assert copied
    for args in copied:
        for source in args[:-1]:
            assert (REPO / source).exists(), f"COPY {source}: not in the repository"
    ignored = (REPO / ".dockerignore").read_text().split()
    for args in copied:
        for source in args[:-1]:
            assert source.rstrip("/") not in ignored, f"{source} is copied but .dockerignore leaves it out"


def test_the_command_is_a_paperbot_subcommand_and_every_env_key_is_known() -> None:
    instructions = dockerfile()
    (cmd,) = [words(i.args) for i in instructions if i.keyword == "CMD"]
    check_paperbot_command(cmd)
    for run in (i.args for i in instructions if i.keyword == "RUN"):
        for shell_command in re.split(r"&&|\|\||;", run):
            argv = shlex.split(shell_command)
            if argv and Path(argv[0]).name == "paperbot":  # `paperbot ...` or /opt/paperbot/bin/paperbot
                check_paperbot_command(["paperbot", *argv[1:]])
    keys = {
        match.group(1)
        for i in instructions if i.keyword == "ENV"
        for match in re.finditer(r"([A-Z_][A-Z0-9_]*)=", i.args)
    }
    assert keys - NOT_SETTINGS <= setting_keys(), keys - NOT_SETTINGS - setting_keys()


async def test_the_health_check_asks_a_served_route_on_the_exposed_default_port() -> None:
    instructions = dockerfile()
    (check,) = [i.args for i in instructions if i.keyword == "HEALTHCHECK"]
    command = words(check.split(" CMD ", 1)[1])
    assert command[0] == "python" and "curl" not in check and "wget" not in check  # slim images have neither
    paths = re.findall(r"'(/[a-z]+)'", command[-1])
    assert paths == ["/readyz"] and paths[0] in await served_paths()
    default_port = Settings().http_port
    assert [i.args for i in instructions if i.keyword == "EXPOSE"] == [str(default_port)]
    env = " ".join(i.args for i in instructions if i.keyword == "ENV")
    assert f"HTTP_PORT={default_port}" in env and "HTTP_HOST=0.0.0.0" in env
    assert f"'{default_port}'" in command[-1]  # the fallback when HTTP_PORT is unset


# --- compose.yaml ---------------------------------------------------------------------------------


def test_compose_runs_postgres_16_with_a_volume_and_a_health_check() -> None:
    services = compose()["services"]
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:16")
    assert postgres["healthcheck"]["test"] and any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    named = set(compose()["volumes"])
    assert {volume.split(":")[0] for s in services.values() for volume in s.get("volumes", [])} <= named


def test_compose_runs_two_replicas_of_paperbot_on_postgresql() -> None:
    services = paperbot_services()
    assert len(services) == 2
    default_port = Settings().http_port
    for name, service in services.items():
        assert service["build"] == "." and (REPO / "Dockerfile").is_file()
        check_paperbot_command(service["command"])
        assert service["env_file"] == ".env"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        environment = service["environment"]
        assert set(environment) <= setting_keys(), f"{name}: {set(environment) - setting_keys()} are not settings"
        assert environment["PAPERBOT_DB"].startswith("postgresql://") and "@postgres:5432/" in environment["PAPERBOT_DB"]
        assert int(environment["HTTP_PORT"]) == default_port
        assert all(str(port).endswith(f":{default_port}") for port in service["ports"]), service["ports"]


def test_the_replicas_run_distinct_valid_discord_shards() -> None:
    shards: list[int] = []
    for service in paperbot_services().values():
        environment = service["environment"]
        settings = Settings(
            discord_shard_count=environment["DISCORD_SHARD_COUNT"], discord_shard_ids=environment["DISCORD_SHARD_IDS"]
        )
        shards += settings.discord_shards
        assert settings.discord_shard_count == len(paperbot_services())
    assert sorted(shards) == list(range(len(shards)))  # every shard run, by exactly one replica


@pytest.mark.parametrize("needle", ["docker compose up", "/metrics", "/readyz", "/healthz", "DISCORD_SHARD_IDS", "LOG_FORMAT=json"])
def test_the_readme_deployment_section_covers_it(needle: str) -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Deployment", 1)[1].split("\n## ", 1)[0]
    assert needle in section
