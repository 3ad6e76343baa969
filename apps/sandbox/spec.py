"""What a step container is: its spec, its hardened host settings and the stdin payload that
carries everything step-specific.

Neither the script nor the step's variables appear on a command line or in the container's
configuration (they would show in `docker inspect`, `ps` and the engine's logs): the container
runs a fixed bootstrap that reads a tar stream from stdin into tmpfs (the script and an env file
under /tmp/.rb, secrets under /run/secrets), exports the env file and execs the shell on the
script. The script's stderr is joined to its stdout in the container: Docker copies two pipes in
two goroutines, which can reorder lines between them; one pipe keeps the exact order.

Because everything step-specific arrives on stdin, a container can be created and started before
its step exists: apps.sandbox.warm keeps such spares, each blocked in `tar` until a step claims it.
"""

import io
import re
import tarfile
import time
from dataclasses import dataclass, field

import docker

BOOTSTRAP = (
    "set -e; umask 077; tar -x -f - -C /; "
    'if [ -n "$(ls -A /run/secrets)" ]; then chmod 0400 /run/secrets/*; fi; '
    "set -a; . /tmp/.rb/env; set +a; "
    'cd /tmp; exec "$1" /tmp/.rb/script </dev/null 2>&1'
)
SCRIPT_PATH = "tmp/.rb/script"
ENV_PATH = "tmp/.rb/env"
# What `export`/`set -a` accepts as a name; the env file refuses anything else.
SHELL_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SECRETS_DIR = "run/secrets"
USER = "65534:65534"
TMPFS = {
    "/tmp": "rw,nosuid,nodev,size=64m",  # noqa: S108 - a fresh tmpfs inside the container, not the host's /tmp
    "/run/secrets": "rw,nosuid,nodev,size=1m,mode=0700,uid=65534,gid=65534",
}


@dataclass
class ContainerSpec:
    image: str
    script: str
    shell: str = "sh"
    env: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    network: str = "none"
    memory_mb: int = 256
    cpus: float = 1.0
    pids_limit: int = 128
    timeout_seconds: int = 300
    labels: dict[str, str] = field(default_factory=dict)
    # The OCI runtime: runc (Docker's default) or runsc (gVisor, a user-space kernel between the
    # step and the host's), per environment.
    runtime: str = "runc"


@dataclass
class ContainerResult:
    status: str  # succeeded, failed, timed_out, cancelled
    exit_code: int | None = None
    error: str = ""
    container_id: str = ""


def secret_env_name(name: str) -> str:
    return "RB_SECRET_" + "".join(char if char.isascii() and char.isalnum() else "_" for char in name).upper() + "_FILE"


class InvalidEnvironment(ValueError):
    """A variable the env file cannot carry; the message names it."""


def _shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def env_file(env: dict[str, str]) -> str:
    """`NAME='value'` lines for the bootstrap to export (set -a): any text but NUL survives quoting."""
    lines = []
    for name, value in env.items():
        if not SHELL_NAME_RE.match(name):
            raise InvalidEnvironment(f"Environment variable name “{name[:80]}” is not a valid shell name.")
        if "\x00" in value:
            raise InvalidEnvironment(f"Environment variable {name} contains a NUL character.")
        lines.append(f"{name}={_shell_quote(value)}\n")
    return "".join(lines)


def build_payload(script: str, secrets: dict[str, str], env: dict[str, str] | None = None) -> bytes:
    """The tar stream the bootstrap unpacks at /: the script, the env file, and each secret as a
    0400 file."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        directory = tarfile.TarInfo("tmp/.rb")
        directory.type, directory.mode = tarfile.DIRTYPE, 0o700
        archive.addfile(directory)
        entries = [(SCRIPT_PATH, script.encode("utf-8"), 0o500), (ENV_PATH, env_file(env or {}).encode("utf-8"), 0o400)]
        entries += [(f"{SECRETS_DIR}/{name}", value.encode("utf-8"), 0o400) for name, value in secrets.items()]
        for path, data, mode in entries:
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(data), mode, int(time.time())
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def step_payload(spec: ContainerSpec) -> bytes:
    """The spec's stdin tar: its variables, plus one RB_SECRET_<NAME>_FILE naming each secret's
    path. Raises InvalidEnvironment."""
    environment = dict(spec.env)
    for name in spec.secrets:
        environment[secret_env_name(name)] = f"/run/secrets/{name}"
    return build_payload(spec.script, spec.secrets, environment)


# Under runsc the container's pids cgroup holds gVisor's Sentry, not the step's processes: those are
# tasks inside the sandbox, but the Sentry (a Go program) needs host threads for them, about eight
# per process blocked in a syscall, plus some forty of its own. Held to the environment's pids_limit
# as is, the Sentry could not make a thread and died with the Go runtime's exit status 2, silently
# (no output, even `docker logs` empty): every step of a 64-pid environment "failed: exit code 2".
# The limit is scaled so the step gets roughly its pids_limit of processes; a fork bomb still ends
# at the cgroup's limit, the sandbox dying instead of `fork` failing.
RUNSC_THREADS_PER_PROCESS = 10
RUNSC_SENTRY_THREADS = 64


def host_pids_limit(spec: ContainerSpec) -> int:
    if spec.runtime == "runsc":
        return spec.pids_limit * RUNSC_THREADS_PER_PROCESS + RUNSC_SENTRY_THREADS
    return spec.pids_limit


def host_config_kwargs(spec: ContainerSpec) -> dict:
    """The hardened host settings every step container gets (DESIGN.md, `command`); no binds, ever."""
    memory = f"{spec.memory_mb}m"
    return {
        "network_mode": "bridge" if spec.network == "bridge" else "none",
        "read_only": True,
        "tmpfs": dict(TMPFS),
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "pids_limit": host_pids_limit(spec),
        "mem_limit": memory,
        # Equal to the memory limit: no swap, so a memory hog is killed rather than thrashing.
        "memswap_limit": memory,
        "nano_cpus": int(spec.cpus * 1_000_000_000),
        "auto_remove": False,
        "privileged": False,
        "runtime": spec.runtime or "runc",
    }


def create_container(client: docker.DockerClient, spec: ContainerSpec, labels: dict[str, str], name: str | None = None):
    """A hardened container of the spec, created (not started) with the bootstrap waiting for stdin."""
    # detach=False with stdin_open sets StdinOnce: the engine turns our half-close into EOF.
    created = client.api.create_container(
        spec.image,
        command=["/bin/sh", "-c", BOOTSTRAP, "runbooks-bootstrap", spec.shell],
        # No working_dir: Docker would create /tmp root-owned 0755 under the tmpfs mount.
        user=USER,
        labels=labels,
        name=name,
        stdin_open=True,
        detach=False,
        tty=False,
        host_config=client.api.create_host_config(**host_config_kwargs(spec)),
    )
    # A model from the id alone: no inspect round trip before the step can start.
    return client.containers.prepare_model({"Id": created["Id"]})
