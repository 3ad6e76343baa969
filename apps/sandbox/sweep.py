"""The reaper's container sweep: leftovers of finished runs and warm spares nobody will use.

Which runs are over and which steps still run is the database's to say, a layer above this one:
the caller (apps.executions.reaper) passes those questions in as functions.
"""

import logging
import time
from collections.abc import Callable

from apps.sandbox.client import DockerUnavailable, shared_client
from apps.sandbox.containers import labelled_containers, remove_container
from apps.sandbox.labels import EXECUTION_LABEL, INSTANCE_LABEL, instance_id
from apps.sandbox.warm import CLAIMED_PREFIX, EXPIRES_LABEL, WARM_LABEL, owner_gone, owner_id

logger = logging.getLogger(__name__)

# {short container id: True while its step runs, False once the step is over}; ids without a step are left out.
StepsRunning = Callable[[list[str]], dict[str, bool]]
# Of the run ids found on containers, those whose containers may go (finished runs, runs that no longer exist).
RunsOver = Callable[[set[int]], set[int]]


def containers_sweep(*, execution_ids: set[int] | None, runs_over: RunsOver, steps_running: StepsRunning) -> list[str]:
    """Kill and remove this installation's containers of the given executions; with None, those of
    the runs `runs_over` names and the warm spares nobody will use. Returns the removed ids."""
    try:
        containers = labelled_containers(EXECUTION_LABEL)
    except DockerUnavailable as error:
        logger.warning("Reaper cannot reach Docker: %s", error)
        return []
    removed = []
    if execution_ids is None:
        try:
            removed += reap_warm_containers(shared_client(), steps_running=steps_running)
        except Exception:
            logger.warning("Reaper could not check warm containers", exc_info=True)
    by_execution: dict[int, list] = {}
    for container in containers:
        try:
            by_execution.setdefault(int(container.labels.get(EXECUTION_LABEL, "")), []).append(container)
        except ValueError:
            continue
    if execution_ids is None:
        execution_ids = runs_over(set(by_execution))
    for execution_id in execution_ids:
        for container in by_execution.get(execution_id, []):
            remove_container(container)
            removed.append(container.id)
    return removed


def _expired(labels: dict) -> bool:
    try:
        return time.time() > float(labels.get(EXPIRES_LABEL, "0"))
    except ValueError:
        return True


def _claimed(container) -> bool:
    return (getattr(container, "name", "") or "").lstrip("/").startswith(CLAIMED_PREFIX)


def _keep_ours(labels: dict, running: bool | None, me: str) -> bool:
    """A spare of this installation: kept while its step runs; without a step, while it is this
    process's own or neither expired nor of a dead owner."""
    if running:
        return True
    owner = labels.get(WARM_LABEL, "")
    return running is None and (owner == me or not (_expired(labels) or owner_gone(owner)))


def _keep_foreign(container, labels: dict, me: str) -> bool:
    """Another installation's spare: its database cannot be asked, so it goes only when its owner
    is gone, or unclaimed past its expiry."""
    owner = labels.get(WARM_LABEL, "")
    return owner == me or not (owner_gone(owner) or (_expired(labels) and not _claimed(container)))


def reap_warm_containers(client, *, steps_running: StepsRunning) -> list[str]:
    """Spares nobody will use, on this Docker engine: of this installation, one whose step has
    ended, or (unclaimed) one of a dead owner on this host or past its expiry; of any other
    installation (its database cannot be asked about its steps), one of a dead owner on this host,
    or an unclaimed one past its expiry. Never one a running step holds, nor this process's own."""
    me, mine = owner_id(), instance_id()
    containers = client.containers.list(all=True, filters={"label": [WARM_LABEL]})
    ours = [container.id[:12] for container in containers if (container.labels or {}).get(INSTANCE_LABEL) == mine]
    steps = steps_running(ours) if ours else {}
    removed = []
    for container in containers:
        labels = container.labels or {}
        if labels.get(INSTANCE_LABEL) == mine:
            keep = _keep_ours(labels, steps.get(container.id[:12]), me)
        else:
            keep = _keep_foreign(container, labels, me)
        if not keep:
            remove_container(container)
            removed.append(container.id)
    return removed
