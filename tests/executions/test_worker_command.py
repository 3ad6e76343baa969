import socket
import uuid

import pytest
import redis
from django.core.management import CommandError, call_command
from django_rq import get_connection
from rq import Queue

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_it_exits_with_a_clear_message_when_redis_never_answers(settings):
    url = f"redis://:hunter2-secret@127.0.0.1:{closed_port()}/0"
    settings.RQ_QUEUES = {name: {"URL": url} for name in settings.RUNBOOKS_QUEUES.values()}

    with pytest.raises(CommandError) as raised:
        call_command("worker", "--redis-wait", "0.5")

    message = str(raised.value)
    assert "did not answer within 0.5 s" in message
    assert "REDIS_URL" in message
    assert "hunter2-secret" not in message


def test_it_works_every_queue_in_settings(settings, capsys):
    # Queues of this test alone: a burst worker on the shared names would take other tests' jobs.
    suffix = uuid.uuid4().hex[:8]
    settings.RQ_QUEUES = {f"{name}-{suffix}": config for name, config in settings.RQ_QUEUES.items()}
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        pytest.fail(f"the test Redis at settings.REDIS_URL is not reachable: {type(error).__name__}")
    # Plain rq queues: django-rq's own defer enqueueing to the commit this test never makes.
    jobs = [Queue(name, connection=get_connection(name)).enqueue("os.getpid") for name in settings.RQ_QUEUES]

    call_command("worker", "--burst", "--redis-wait", "5", "--name", f"test-worker-{suffix}")

    for job in jobs:
        job.refresh()
        assert job.get_status() == "finished", job.origin
    out = capsys.readouterr().out
    # Every queue of settings, by the names this pytest worker's settings give them (settings.test).
    assert f"{settings.RUNBOOKS_QUEUES['default']}-{suffix}, {settings.RUNBOOKS_QUEUES['executions']}-{suffix}" in out
    assert "(scheduler and reaper on)" in out
