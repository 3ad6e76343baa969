"""Warm spares: step containers created and started before their step, waiting on stdin.

Docker needs ≈300 ms here to start a container; the step itself often needs a few milliseconds.
A spare is an ordinary hardened step container (same image, limits, user, read-only root, no
capabilities) whose bootstrap sits in `tar` reading stdin: nothing of any step is in it until a
step claims it and sends its tar (script, env file, secrets). A spare serves exactly one step and
is removed after it, like any step container; claiming one starts the next in the background.

Spares are kept per shape (image, shell, runtime and limits) for RUNBOOKS_WARM_CONTAINERS spares
each, in the process that runs the steps (each worker process runs its jobs in-process for this:
apps.executions.workers), so with `worker --concurrency N` every one of the N processes has its own.
A shape unused for RUNBOOKS_WARM_IDLE_SECONDS loses its spares. Every spare carries its owner
process and an expiry in its labels: its owner replaces it before the expiry, and any reaper on
the Docker engine, of whatever installation, removes spares of an owner that is gone (at once on
the same host) and unclaimed spares past their expiry (apps.sandbox.sweep). A claimed spare is renamed (CLAIMED_PREFIX):
another installation cannot ask its database whether a step still runs there.
A spare is used only if it still runs the image its environment names now; otherwise it is
dropped and the step starts a fresh container.
"""

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass

from django.conf import settings

from apps.sandbox.client import DockerUnavailable, shared_client
from apps.sandbox.containers import remove_container, remove_later
from apps.sandbox.labels import INSTANCE_LABEL, instance_id
from apps.sandbox.spec import ContainerSpec, create_container

logger = logging.getLogger(__name__)

WARM_LABEL = "runbooks.warm"  # the owner process: host:pid:start time
EXPIRES_LABEL = "runbooks.warm-expires"  # epoch seconds; past it, an unclaimed spare is anybody's to remove
# A step waits this long at most for a spare that is being started, rather than start its own.
WAIT_FOR_STARTING_SECONDS = 10
# After a spare failed to start (image gone, engine refusing), the shape is left cold this long.
RETRY_AFTER_FAILURE_SECONDS = 30
SPARE_PREFIX = "runbooks-spare-"
CLAIMED_PREFIX = "runbooks-claimed-"
# How often each worker process drops idle spares and renews those near their expiry.
UPKEEP_SECONDS = 15


def _start_ticks(pid: int) -> str:
    """The process's start time in clock ticks since boot ("" if unknown): a pid alone can be reused."""
    try:
        stat = open(f"/proc/{pid}/stat", encoding="ascii").read()  # noqa: SIM115 - one short read
    except OSError:
        return ""
    # The command name (field 2) may contain spaces and parentheses: count from the last ")".
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else ""


def owner_id(pid: int | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid)}"


def owner_gone(owner: str) -> bool:
    """True when the owner is known to be gone: a process of this host that no longer runs.
    An owner on another host cannot be checked from here; its spares go at their expiry."""
    host, _, rest = owner.partition(":")
    pid_text, _, ticks = rest.partition(":")
    if host != socket.gethostname():
        return False
    try:
        pid = int(pid_text)
    except ValueError:
        return True
    return not ticks or _start_ticks(pid) != ticks


def spec_key(spec: ContainerSpec) -> tuple:
    """What a spare must share with the step: image, shell and the host settings."""
    return (
        spec.image, spec.shell, spec.network, int(spec.memory_mb), float(spec.cpus), int(spec.pids_limit), spec.runtime
    )  # fmt: skip


def _spec_of(key: tuple) -> ContainerSpec:
    image, shell, network, memory_mb, cpus, pids_limit, runtime = key
    return ContainerSpec(
        image=image, script="", shell=shell, network=network, memory_mb=memory_mb, cpus=cpus, pids_limit=pids_limit,
        runtime=runtime,
    )  # fmt: skip


@dataclass
class Spare:
    container: object
    image_id: str
    expires_at: float  # epoch seconds


class WarmPool:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self._reset()

    def _reset(self) -> None:
        self.pid = os.getpid()
        self.spares: dict[tuple, list[Spare]] = {}
        self.starting: dict[tuple, int] = {}
        self.last_used: dict[tuple, float] = {}
        self.failed_at: dict[tuple, float] = {}

    @staticmethod
    def size() -> int:
        return max(0, int(getattr(settings, "RUNBOOKS_WARM_CONTAINERS", 0)))

    @staticmethod
    def max_age() -> float:
        return float(settings.RUNBOOKS_WARM_MAX_AGE_SECONDS)

    def claim_margin(self) -> float:
        """A spare this close to its expiry is not handed out: a reaper may remove it mid-step."""
        return min(120.0, self.max_age() / 4)

    def _check_fork(self) -> None:
        # Spares belong to the process that started them; a forked child starts with none.
        if self.pid != os.getpid():
            self._reset()

    # --- a step claims a spare ----------------------------------------------------------------

    def take(self, client, spec: ContainerSpec):
        """A started spare for the spec, or None: start your own. The step calls refill() when it
        is over."""
        if self.size() <= 0:
            return None
        key = spec_key(spec)
        deadline = time.monotonic() + WAIT_FOR_STARTING_SECONDS
        with self.lock:
            self._check_fork()
            self.last_used[key] = time.monotonic()
            while True:
                spare = self._pop(key)
                if spare is not None or not self.starting.get(key) or time.monotonic() >= deadline:
                    break
                self.changed.wait(max(0.0, deadline - time.monotonic()))
        if spare is None:
            return None
        if not self._usable(client, spare, spec) or not _mark_claimed(spare.container):
            remove_later(spare.container)
            return None
        return spare.container

    def _pop(self, key: tuple) -> Spare | None:
        spares = self.spares.get(key) or []
        while spares:
            spare = spares.pop(0)
            if time.time() < spare.expires_at - self.claim_margin():
                return spare
            remove_later(spare.container)
        return None

    @staticmethod
    def _usable(client, spare: Spare, spec: ContainerSpec) -> bool:
        """Still waiting for its stdin, and of the image the environment names now (a re-tagged
        image must not run in a spare of the old one)."""
        try:
            state = client.api.inspect_container(spare.container.id).get("State") or {}
            image_id = client.api.inspect_image(spec.image).get("Id")
        except Exception:
            return False
        return bool(state.get("Running")) and image_id == spare.image_id

    # --- starting spares ----------------------------------------------------------------------

    def refill(self, client, spec: ContainerSpec) -> None:
        """After a step of this shape: start the spare(s) the next step will claim. Not while the
        step runs: starting a container takes the engine's (and a small host's) CPU just when the
        step's first output is on its way to the page."""
        if self.size() > 0:
            self._replenish(client, spec_key(spec))

    def _replenish(self, client, key: tuple) -> None:
        with self.lock:
            if time.monotonic() - self.failed_at.get(key, -1e9) < RETRY_AFTER_FAILURE_SECONDS:
                return
            missing = self.size() - len(self.spares.get(key) or []) - self.starting.get(key, 0)
            if missing <= 0:
                return
            self.starting[key] = self.starting.get(key, 0) + missing
        for _ in range(missing):
            threading.Thread(target=self._start_one, args=(client, key), name="warm-spare", daemon=True).start()

    def _start_one(self, client, key: tuple) -> None:
        spare = None
        try:
            expires_at = time.time() + self.max_age()
            labels = {
                INSTANCE_LABEL: instance_id(),
                WARM_LABEL: owner_id(),
                EXPIRES_LABEL: str(int(expires_at)),
            }
            container = create_container(client, _spec_of(key), labels, name=f"{SPARE_PREFIX}{uuid.uuid4().hex[:16]}")
            try:
                container.start()
                image_id = client.api.inspect_container(container.id)["Image"]
            except Exception:
                remove_container(container)
                raise
            spare = Spare(container=container, image_id=image_id, expires_at=expires_at)
        except Exception as error:
            logger.warning("Could not start a warm container for %s: %s", key[0], error)
        finally:
            with self.lock:
                self.starting[key] = max(0, self.starting.get(key, 0) - 1)
                if spare is not None and self.pid == os.getpid():
                    self.spares.setdefault(key, []).append(spare)
                elif spare is None:
                    self.failed_at[key] = time.monotonic()
                self.changed.notify_all()

    # --- upkeep -------------------------------------------------------------------------------

    def maintain(self, client=None) -> None:
        """Drop spares of shapes idle for too long and spares near their expiry (replacing those)."""
        idle_after = float(settings.RUNBOOKS_WARM_IDLE_SECONDS)
        stale, renew = [], []
        with self.lock:
            self._check_fork()
            for key, spares in self.spares.items():
                idle = time.monotonic() - self.last_used.get(key, 0.0) >= idle_after
                keep = [s for s in spares if not idle and time.time() < s.expires_at - self.claim_margin()]
                stale += [s for s in spares if s not in keep]
                if not idle and len(keep) < len(spares):
                    renew.append(key)
                self.spares[key] = keep
        for spare in stale:
            remove_container(spare.container)
        if client is not None and self.size() > 0:
            for key in renew:
                self._replenish(client, key)

    def shutdown(self, timeout: float = 10) -> None:
        """Remove every spare of this process and wait for spares being started (worker exit, tests)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while any(self.starting.values()) and time.monotonic() < deadline:
                self.changed.wait(max(0.0, deadline - time.monotonic()))
            spares = [spare for spares in self.spares.values() for spare in spares]
            self.spares = {}
            self.last_used = {}
        for spare in spares:
            remove_container(spare.container)

    def count(self) -> int:
        with self.lock:
            return sum(len(spares) for spares in self.spares.values())


pool = WarmPool()


def _mark_claimed(container) -> bool:
    """Rename a spare as a step takes it, before its expiry is near (claim_margin): a reaper of
    another installation removes unclaimed spares past their expiry, never claimed ones."""
    try:
        container.rename(f"{CLAIMED_PREFIX}{uuid.uuid4().hex[:16]}")
    except Exception:
        return False
    return True


def upkeep_start(interval: float = UPKEEP_SECONDS) -> threading.Event:
    """This process's spares kept fresh (pool.maintain) in a daemon thread; set the event to stop."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval):
            try:
                try:
                    pool.maintain(shared_client())
                except DockerUnavailable:
                    pool.maintain()
            except Exception:
                logger.warning("Warm spare upkeep failed; retrying in %s s", interval, exc_info=True)

    threading.Thread(target=loop, name="warm-upkeep", daemon=True).start()
    return stop
