"""Static checks of the deployment image and compose file: what can be proven without pulling an
image (no registry is reachable here). hadolint runs too when it is on PATH (skipped otherwise)."""

import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"


@dataclass
class Instruction:
    keyword: str
    arguments: str
    stage: int


def instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions with continuations joined and comments dropped, by stage."""
    result: list[Instruction] = []
    stage = -1
    logical = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        logical += stripped[:-1].rstrip() + " " if stripped.endswith("\\") else stripped
        if stripped.endswith("\\"):
            continue
        keyword, _, arguments = logical.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        result.append(Instruction(keyword, arguments.strip(), stage))
        logical = ""
    return result


@pytest.fixture(scope="module")
def dockerfile() -> list[Instruction]:
    return instructions(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def final_stage(dockerfile) -> list[Instruction]:
    last = max(instruction.stage for instruction in dockerfile)
    return [instruction for instruction in dockerfile if instruction.stage == last]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def exec_form(arguments: str) -> list[str]:
    return yaml.safe_load(arguments) if arguments.startswith("[") else shlex.split(arguments)


def test_the_parser_joins_continuations_and_splits_stages():
    parsed = instructions("FROM a AS one\nRUN x \\\n    && y\n# note\nFROM b\nUSER 1\n")
    assert [(i.keyword, i.arguments, i.stage) for i in parsed] == [
        ("FROM", "a AS one", 0),
        ("RUN", "x && y", 0),
        ("FROM", "b", 1),
        ("USER", "1", 1),
    ]


def test_the_image_is_multi_stage_and_the_final_stage_takes_only_the_built_venv(dockerfile, final_stage):
    froms = [instruction for instruction in dockerfile if instruction.keyword == "FROM"]
    assert len(froms) >= 2
    build_stage = re.search(r"\bAS\s+(\S+)", froms[0].arguments, re.IGNORECASE)
    assert build_stage, "the first stage must be named so the final one can copy from it"
    copies_from_build = [
        instruction
        for instruction in final_stage
        if instruction.keyword == "COPY" and f"--from={build_stage.group(1)}" in instruction.arguments
    ]
    assert copies_from_build, "the final stage must copy what the build stage installed"
    # pip and compilers stay in the build stage: the final one installs nothing itself.
    assert not any(
        instruction.keyword == "RUN" and "pip install" in instruction.arguments for instruction in final_stage
    )


def test_it_runs_as_a_non_root_user_set_after_the_last_build_step(final_stage):
    users = [index for index, instruction in enumerate(final_stage) if instruction.keyword == "USER"]
    assert users, "the final stage has no USER: the processes would run as root"
    user = final_stage[users[-1]].arguments.split(":")[0]
    assert user not in ("root", "0")
    last_run = max(index for index, instruction in enumerate(final_stage) if instruction.keyword == "RUN")
    assert users[-1] > last_run, "USER must come after the last RUN, or later steps undo it"


def test_static_files_are_collected_at_build_time(final_stage):
    runs = " ".join(instruction.arguments for instruction in final_stage if instruction.keyword == "RUN")
    assert re.search(r"manage\.py collectstatic\b.*--noinput", runs)


def test_the_healthcheck_probes_healthz_on_the_web_port(final_stage):
    healthchecks = [instruction for instruction in final_stage if instruction.keyword == "HEALTHCHECK"]
    assert len(healthchecks) == 1
    probe = healthchecks[0].arguments
    assert "CMD" in probe and "/healthz" in probe
    assert "127.0.0.1:8000" in probe or "localhost:8000" in probe


def test_the_default_command_is_the_web_process(final_stage):
    commands = [instruction for instruction in final_stage if instruction.keyword == "CMD"]
    assert commands and exec_form(commands[-1].arguments)[0] == "daphne"
    assert "runbooks_site.asgi:application" in exec_form(commands[-1].arguments)


def test_the_build_context_leaves_out_local_secrets_and_state():
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()}
    # var/ holds the development keys, demo passwords and the SQLite file; .env holds secrets.
    assert {"var", ".env", ".git", ".venv"} <= ignored


def test_compose_has_web_worker_postgres_and_redis(compose):
    assert {"web", "worker", "postgres", "redis"} <= set(compose["services"])


def test_web_and_worker_are_the_same_image_with_different_commands(compose):
    web, worker = compose["services"]["web"], compose["services"]["worker"]
    assert web["image"] == worker["image"]
    assert web["build"] == worker["build"] == "."
    assert "daphne" in " ".join(web["command"])
    assert worker["command"][-2:] == ["manage.py", "worker"]


def test_only_the_worker_talks_to_a_docker_engine(compose):
    services = compose["services"]
    for name, service in services.items():
        environment = service.get("environment") or {}
        mounts = " ".join(str(volume) for volume in service.get("volumes") or [])
        if name == "worker":
            assert environment.get("DOCKER_HOST")
        else:
            assert "DOCKER_HOST" not in environment, f"{name} must not reach a Docker engine"
            assert "docker.sock" not in mounts, f"{name} must not get the Docker socket"


def test_the_worker_checks_docker_itself_and_the_web_healthcheck_does_not_need_it(compose):
    worker, web = compose["services"]["worker"], compose["services"]["web"]
    assert worker["healthcheck"]["test"][-2:] == ["manage.py", "worker_health"]
    probe = " ".join(web["healthcheck"]["test"])
    assert "/healthz" in probe and '"database"' in probe and '"redis"' in probe and "docker" not in probe


def test_the_services_need_their_secrets_instead_of_defaulting_them(compose):
    environment = compose["services"]["web"]["environment"]
    for name in ("SECRET_KEY", "CREDENTIAL_KEYS"):
        # ${NAME:?message} makes compose refuse to start without it.
        assert re.fullmatch(r"\$\{" + name + r":\?[^}]*\}", environment[name])
    assert ":?" in compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]


HADOLINT = shutil.which("hadolint")


@pytest.mark.skipif(HADOLINT is None, reason="hadolint is not installed (Debian 12 does not package it)")
def test_hadolint_finds_no_warning_or_error():
    answer = subprocess.run(
        [HADOLINT, "--no-color", "--failure-threshold", "warning", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert answer.returncode == 0, answer.stdout + answer.stderr
