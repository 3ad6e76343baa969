"""Warm spares (apps.sandbox.warm) in real runs, with the real Docker engine: a step claims a started spare,
the spare is as hardened as any step container and carries nothing of a step, a stale or dead
spare is never used, and the reaper removes spares nobody will use."""

import io
import os
import time
import uuid

import pytest
import requests
from docker.errors import NotFound

from apps.executions.models import StepRun
from apps.executions.reaper import _remove_containers
from apps.executions.services.start import execution_start
from apps.sandbox.client import shared_client
from apps.sandbox.labels import INSTANCE_LABEL, instance_id
from apps.sandbox.spec import ContainerSpec, create_container
from apps.sandbox.warm import CLAIMED_PREFIX, EXPIRES_LABEL, WARM_LABEL, owner_id, pool
from tests.sandbox.test_warm import dead_owner
from tests.support.executions import IMAGE, command, output_of, run_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def warm(settings, docker_engine):
    settings.RUNBOOKS_WARM_CONTAINERS = 1
    pool.shutdown()
    yield pool
    pool.shutdown()


def spares_of_this_process(docker_engine) -> list:
    return docker_engine.containers.list(
        all=True, filters={"label": [f"{WARM_LABEL}={owner_id()}", f"{INSTANCE_LABEL}={instance_id()}"]}
    )


def wait_for_spare(timeout: float = 30) -> None:
    """Spares start in the background: wait on the pool's own condition, not a sleep."""
    deadline = time.monotonic() + timeout
    with pool.lock:
        while not any(pool.spares.values()):
            remaining = deadline - time.monotonic()
            assert remaining > 0, "no spare was started"
            pool.changed.wait(remaining)


def run_block(cast, make_runbook, script: str):
    runbook = make_runbook(cast.owner, [command("main", script)])
    execution = run_now(execution_start(runbook=runbook, user=cast.owner))
    return execution, execution.steps.get()


def test_a_step_runs_in_the_spare_its_predecessor_left_and_the_spare_is_replaced(
    cast, make_runbook, docker_engine, warm
):
    first, _ = run_block(cast, make_runbook, "echo one")
    assert first.status == "succeeded", first.error
    wait_for_spare()
    (spare,) = spares_of_this_process(docker_engine)

    execution, step = run_block(cast, make_runbook, 'echo "two $RB_EXECUTION_ID"')

    assert execution.status == "succeeded", execution.error
    assert output_of(step) == f"two {execution.pk}\n"
    # The step ran in the spare (recorded before it ran), and the spare is gone with its step.
    # (sparse: no inspect of every container, which a parallel test may remove meanwhile.)
    assert step.container_id == spare.id[:12]
    assert spare.id not in {container.id for container in docker_engine.containers.list(all=True, sparse=True)}
    wait_for_spare()
    (replacement,) = spares_of_this_process(docker_engine)
    assert replacement.id != spare.id


def test_a_spare_is_hardened_and_holds_nothing_of_a_step(cast, make_runbook, docker_engine, warm):
    run_block(cast, make_runbook, "echo warm-up")
    wait_for_spare()
    (spare,) = spares_of_this_process(docker_engine)
    host, config = spare.attrs["HostConfig"], spare.attrs["Config"]
    assert spare.status == "running"
    assert host["NetworkMode"] == "none" and host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"] and "no-new-privileges" in host["SecurityOpt"]
    assert host["Memory"] == 64 * 1024 * 1024 and host["PidsLimit"] == 64
    assert not host.get("Binds") and not host.get("Privileged")
    assert config["User"] == "65534:65534"
    # No script, parameter or step variable in its configuration: they arrive on stdin when claimed.
    assert not any(variable.startswith("RB_") for variable in config.get("Env") or [])
    assert config["Cmd"][:2] == ["/bin/sh", "-c"] and "RB_" not in " ".join(config["Cmd"])


def test_a_dead_spare_is_not_used(cast, make_runbook, docker_engine, warm):
    run_block(cast, make_runbook, "echo warm-up")
    wait_for_spare()
    (spare,) = spares_of_this_process(docker_engine)
    spare.kill()

    execution, step = run_block(cast, make_runbook, "echo fresh")

    assert execution.status == "succeeded", execution.error
    assert output_of(step) == "fresh\n"
    assert step.container_id and step.container_id != spare.id[:12]


def test_a_spare_of_an_image_tag_that_moved_is_not_used(cast, make_runbook, docker_engine, warm, environment):
    tag = f"runbooks-warm-test:{os.getpid()}"
    docker_engine.images.get(IMAGE).tag(tag)
    environment.image = tag
    environment.save()
    try:
        run_block(cast, make_runbook, "echo warm-up")
        wait_for_spare()
        (spare,) = spares_of_this_process(docker_engine)
        # The tag now names another image: a spare of the old one must not run the next step.
        other = docker_engine.images.build(
            fileobj=io.BytesIO(f"FROM {IMAGE}\nLABEL runbooks.test=moved-tag\n".encode()), rm=True
        )[0]
        other.tag(tag)

        execution, step = run_block(cast, make_runbook, "echo moved")

        assert execution.status == "succeeded", execution.error
        assert step.container_id != spare.id[:12]
    finally:
        pool.shutdown()
        docker_engine.images.remove(tag, force=True)


def test_spares_of_a_shape_left_idle_are_removed(cast, make_runbook, docker_engine, warm, settings):
    run_block(cast, make_runbook, "echo warm-up")
    wait_for_spare()
    settings.RUNBOOKS_WARM_IDLE_SECONDS = 0
    pool.maintain(shared_client())
    assert pool.count() == 0
    assert spares_of_this_process(docker_engine) == []


def test_with_the_pool_off_no_spare_is_started(cast, make_runbook, docker_engine, settings):
    settings.RUNBOOKS_WARM_CONTAINERS = 0
    execution, _ = run_block(cast, make_runbook, "echo cold")
    assert execution.status == "succeeded"
    assert pool.count() == 0 and spares_of_this_process(docker_engine) == []


# --- the reaper -------------------------------------------------------------------------------


def foreign_spare(owner: str, expires_in: float, *, claimed: bool = False):
    spec = ContainerSpec(image=IMAGE, script="")
    labels = {INSTANCE_LABEL: instance_id(), WARM_LABEL: owner, EXPIRES_LABEL: str(int(time.time() + expires_in))}
    name = f"{CLAIMED_PREFIX}{uuid.uuid4().hex[:16]}" if claimed else None
    container = create_container(shared_client(), spec, labels, name=name)
    container.start()
    return container


def gone_within(engine, container_id: str, *, seconds: float) -> None:
    """Returns once the container is removed (Docker's wait for condition "removed"), or after `seconds`."""
    try:
        engine.api.wait(container_id, timeout=seconds, condition="removed")
    except (NotFound, requests.exceptions.RequestException):
        pass  # already gone; or still there after `seconds`, which the caller's assertion reports


def test_the_reaper_removes_spares_nobody_will_use_and_keeps_the_others(cast, make_runbook, docker_engine):
    alive_elsewhere = "another-host:1:1"
    spares = {
        "dead owner": foreign_spare(dead_owner(), 3600),
        "expired": foreign_spare(alive_elsewhere, -1),
        "live owner": foreign_spare(alive_elsewhere, 3600),
        # Claimed (renamed) by a live process of another host, as a step takes a spare; expired. Only
        # this installation's database knows a step holds it, and other installations' reapers on this
        # engine (other tests' workers) must leave it alone too: they do, as it is claimed and its
        # owner is not gone.
        "claimed, running": foreign_spare(alive_elsewhere, -1, claimed=True),
        "claimed, finished": foreign_spare(alive_elsewhere, 3600),
    }
    execution, step = run_block(cast, make_runbook, "true")
    StepRun.objects.filter(pk=step.pk).update(container_id=spares["claimed, finished"].id[:12])
    running = StepRun.objects.create(execution=execution, position=1, block_key="other", kind="command")
    StepRun.objects.filter(pk=running.pk).update(status="running", container_id=spares["claimed, running"].id[:12])
    try:
        doomed = {spares[name].id for name in ("dead owner", "expired", "claimed, finished")}
        # The reaper's sweep, with the database's answers (it also removes finished runs' leftovers).
        removed = set(_remove_containers(execution_ids=None)) & {container.id for container in spares.values()}
        # Other tests' workers reap this engine too and may take a dead or expired spare first: what
        # this reaper removed is among the doomed, and afterwards every doomed one is gone.
        assert removed <= doomed and spares["claimed, finished"].id in removed
        # A removal another process started is still under way (Docker answered ours 409): await its end.
        for container_id in doomed:
            gone_within(docker_engine, container_id, seconds=30)
        left = {container.id for container in docker_engine.containers.list(all=True, sparse=True)}
        assert not doomed & left
        assert spares["live owner"].id in left and spares["claimed, running"].id in left
    finally:
        for container in spares.values():
            try:
                container.remove(force=True)
            except Exception:  # already removed by the reaper
                pass
