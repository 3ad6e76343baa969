"""Warm spares (apps.sandbox.warm) on their own: who owns a spare, and which shapes share one."""

import socket
import subprocess

from apps.sandbox.spec import ContainerSpec
from apps.sandbox.warm import owner_gone, owner_id, spec_key


def dead_owner() -> str:
    """The owner id of a process of this host that has exited."""
    process = subprocess.Popen(["true"])
    owner = owner_id(process.pid)
    process.wait()
    return owner


def test_an_owner_is_gone_only_when_its_process_is():
    assert not owner_gone(owner_id())
    assert owner_gone(dead_owner())
    # Same pid, another start: a reused pid is another process.
    host, pid, _ = owner_id().split(":")
    assert owner_gone(f"{host}:{pid}:1")
    # Another host cannot be checked from here: its spares wait for their expiry.
    assert not owner_gone("not-" + socket.gethostname() + ":1:1")


def test_warm_spares_are_kept_apart_per_runtime():
    runc = ContainerSpec(image="img", script="", runtime="runc")
    runsc = ContainerSpec(image="img", script="", runtime="runsc")
    assert spec_key(runc) != spec_key(runsc)
