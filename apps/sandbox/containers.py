"""Finding and removing step containers: this installation's by label, removal in the background."""

import threading
import time

import requests
from docker.errors import DockerException, NotFound

from apps.sandbox.client import DockerUnavailable, forget_shared_client, shared_client, unreachable_message
from apps.sandbox.labels import INSTANCE_LABEL, instance_id


def labelled_containers(label: str) -> list:
    """This installation's containers carrying `label`, running or not."""
    client = shared_client()
    try:
        return client.containers.list(all=True, filters={"label": [label, f"{INSTANCE_LABEL}={instance_id()}"]})
    except (DockerException, requests.exceptions.RequestException):
        forget_shared_client()
        raise DockerUnavailable(unreachable_message()) from None


def remove_container(container) -> None:
    """Kill (if running) and remove; a container already gone is fine."""
    try:
        container.remove(force=True)
    except NotFound:
        pass
    except (DockerException, requests.exceptions.RequestException):
        pass


_removals: list[threading.Thread] = []
_removals_lock = threading.Lock()


def remove_later(container) -> None:
    """Remove the container in the background: the step's result is known once the exit code is
    read, so it is recorded without waiting for Docker to tear the container down. The engine
    waits for these before it lets go of the run (wait_for_removals); the reaper removes whatever
    a dead worker left behind."""

    def remove() -> None:
        remove_container(container)

    thread = threading.Thread(target=remove, name=f"remove-{container.id[:12]}", daemon=True)
    with _removals_lock:
        _removals.append(thread)
    thread.start()


def wait_for_removals(timeout: float = 60) -> None:
    with _removals_lock:
        pending, _removals[:] = list(_removals), []
    deadline = time.monotonic() + timeout
    for thread in pending:
        thread.join(max(0.0, deadline - time.monotonic()))
