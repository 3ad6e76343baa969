"""Notifications end to end through a real SMTP sink (aiosmtpd), a real HTTP receiver reached by apprise,
Redis and the RQ worker code: started / waiting for approval / failed, retries, masking, bad input."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from django.test import TestCase
from rq import SimpleWorker

from apps.automation import notifications
from apps.automation.models import AttemptStatus, Notification, NotificationAttempt
from apps.automation.notifications import notification_create
from apps.credentials.services import credential_create
from apps.executions.models import ExecutionStatus
from apps.executions.queue import default_queue
from apps.executions.services.start import execution_start
from tests.support.executions import run_now

BASE_URL = "http://runbooks.example"
SECRET = "s3cr3t-Token-Value-42"
APPROVAL = [
    {"key": "check", "kind": "instruction", "config": {"markdown": "Look at the graphs.", "gate": "approval"}},
]
FAILING = [{"key": "decide", "kind": "conditional", "config": {"expression": "true", "on_true": "fail"}}]
PARAMETERS = [{"name": "token", "label": "Token", "required": False}]


class Sink:
    """What the SMTP sink received, with a way to wait for it."""

    def __init__(self):
        self.messages: list[dict] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        with self.arrived:
            self.messages.append({"to": envelope.rcpt_tos, "text": envelope.content.decode("utf-8", "replace")})
            self.arrived.notify_all()
        return "250 OK"


class Receiver:
    """An HTTP endpoint apprise's json:// posts to; the first `fail` requests answer 500."""

    def __init__(self, fail: int = 0):
        self.requests: list[dict] = []
        self.fail = fail
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"path": self.path, "body": json.loads(body or b"{}")})
                status = 500 if len(receiver.requests) <= receiver.fail else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sink(settings):
    handler = Sink()
    # aiosmtpd's start() connects to its own port to check it is up, so port 0 will not do.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield handler
    controller.stop()


@pytest.fixture
def receiver():
    made = []

    def make(fail: int = 0) -> Receiver:
        made.append(Receiver(fail))
        return made[-1]

    yield make
    for one in made:
        one.close()


@pytest.fixture(autouse=True)
def quiet_queue(settings):
    settings.RUNBOOKS_BASE_URL = BASE_URL
    # The receivers listen on loopback, which the SSRF guard refuses unless an administrator allows it.
    settings.RUNBOOKS_HTTP_ALLOWLIST = ["127.0.0.1"]
    queue = default_queue()
    queue.empty()
    yield queue
    queue.empty()


def work(queue, *, until, timeout: float = 20.0) -> None:
    """Run the default queue's jobs in this process (the worker's code) until `until()` holds.

    Retries are scheduled jobs, moved to the queue by the scheduler a burst worker runs at start.
    """
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "the notifications did not arrive in time"
        # django-rq enqueues after the commit; the test's transaction never commits, so run those now.
        with TestCase.captureOnCommitCallbacks(execute=True):
            SimpleWorker([queue], connection=queue.connection).work(burst=True, with_scheduler=True)
        if not until():
            time.sleep(0.2)  # a retry's backoff is a time to pass, not an event to await


def wait_for_mail(sink, count: int, timeout: float = 10.0) -> list[dict]:
    with sink.arrived:
        assert sink.arrived.wait_for(lambda: len(sink.messages) >= count, timeout), sink.messages
    return sink.messages


def run(execution, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return run_now(execution)


def test_it_mails_started_and_failed_with_links(cast, make_runbook, sink, quiet_queue,
                                                django_capture_on_commit_callbacks):  # fmt: skip
    runbook = make_runbook(cast.owner, FAILING)
    notification_create(runbook=runbook, user=cast.editor,
                        data={"events": ["started", "failed"], "channel": "email", "target": "viewer"})  # fmt: skip
    execution = run(execution_start(runbook=runbook, user=cast.runner), django_capture_on_commit_callbacks)
    assert execution.status == ExecutionStatus.FAILED

    work(quiet_queue, until=lambda: NotificationAttempt.objects.filter(status=AttemptStatus.SENT).count() == 2)
    messages = wait_for_mail(sink, 2)
    link = f"{BASE_URL}/executions/{execution.pk}/"
    started = next(message for message in messages if "started" in message["text"].split("\n\n")[0])
    failed = next(message for message in messages if "failed" in message["text"].split("\n\n")[0])
    assert started["to"] == ["viewer@example.com"] and link in started["text"]
    assert failed["to"] == ["viewer@example.com"] and link in failed["text"]
    assert "ended the run as failed" in failed["text"]


def test_it_asks_those_who_may_approve_with_a_link_to_the_gate(cast, make_runbook, sink, quiet_queue,
                                                               django_capture_on_commit_callbacks):  # fmt: skip
    cast.team.user_set.add(cast.owner, cast.runner, cast.outsider)
    runbook = make_runbook(cast.owner, APPROVAL)
    notification_create(runbook=runbook, user=cast.editor,
                        data={"events": ["waiting"], "channel": "email", "target": "group:sre"})  # fmt: skip
    # The owner starts the run: they cannot approve it, the outsider cannot see it; the runner may approve.
    execution = run(execution_start(runbook=runbook, user=cast.owner), django_capture_on_commit_callbacks)
    assert execution.status == ExecutionStatus.WAITING

    work(quiet_queue, until=lambda: NotificationAttempt.objects.filter(status=AttemptStatus.SENT).exists())
    (message,) = wait_for_mail(sink, 1)
    step = execution.steps.get(block_key="check")
    assert message["to"] == ["runner@example.com"]
    assert f"{BASE_URL}/executions/{execution.pk}/#step-{step.pk}" in message["text"]
    assert "waits for approval at check" in message["text"]


def test_it_posts_to_an_apprise_url_kept_in_a_credential(cast, make_runbook, receiver, quiet_queue,
                                                         django_capture_on_commit_callbacks):  # fmt: skip
    endpoint = receiver()
    credential = credential_create(user=cast.editor, name="ops-hook", kind="secret",
                                   secret=f"json://127.0.0.1:{endpoint.port}/hook")  # fmt: skip
    runbook = make_runbook(cast.owner, APPROVAL)
    notification_create(runbook=runbook, user=cast.editor,
                        data={"events": ["started", "waiting"], "channel": "apprise", "target": str(credential.pk)})  # fmt: skip
    execution = run(execution_start(runbook=runbook, user=cast.runner), django_capture_on_commit_callbacks)

    work(quiet_queue, until=lambda: len(endpoint.requests) >= 2)
    bodies = sorted(request["body"]["title"] for request in endpoint.requests)
    assert bodies == [
        f"Run #{execution.pk} of “Execution test” started",
        f"Run #{execution.pk} of “Execution test” waits for approval at check",
    ]
    assert all(f"{BASE_URL}/executions/{execution.pk}/" in request["body"]["message"] for request in endpoint.requests)
    attempt = NotificationAttempt.objects.filter(execution=execution).first()
    assert attempt.recipients == "credential ops-hook" and str(endpoint.port) not in attempt.recipients


def test_a_failing_receiver_is_retried_and_never_delays_the_run(cast, make_runbook, receiver, quiet_queue, monkeypatch,
                                                                django_capture_on_commit_callbacks):  # fmt: skip
    monkeypatch.setattr(notifications, "BACKOFF_SECONDS", (1, 1, 1))
    endpoint = receiver(fail=2)
    credential = credential_create(user=cast.editor, name="flaky", kind="secret",
                                   secret=f"json://127.0.0.1:{endpoint.port}/hook")  # fmt: skip
    runbook = make_runbook(cast.owner, FAILING)
    notification_create(runbook=runbook, user=cast.editor,
                        data={"events": ["failed"], "channel": "apprise", "target": str(credential.pk)})  # fmt: skip
    began = time.monotonic()
    execution = run(execution_start(runbook=runbook, user=cast.runner), django_capture_on_commit_callbacks)
    assert execution.status == ExecutionStatus.FAILED and time.monotonic() - began < 5
    # The run finished before any try: sending is queued, not done by the engine.
    assert not NotificationAttempt.objects.exists() and endpoint.requests == []

    work(quiet_queue, until=lambda: NotificationAttempt.objects.filter(status=AttemptStatus.SENT).exists())
    attempts = list(NotificationAttempt.objects.order_by("number").values_list("number", "status"))
    assert attempts == [(1, AttemptStatus.FAILED), (2, AttemptStatus.FAILED), (3, AttemptStatus.SENT)]
    assert len(endpoint.requests) == 3
    assert all(attempt.at > execution.finished_at for attempt in NotificationAttempt.objects.all())


def test_it_gives_up_after_the_last_retry(cast, make_runbook, receiver, quiet_queue, monkeypatch,
                                          django_capture_on_commit_callbacks):  # fmt: skip
    monkeypatch.setattr(notifications, "BACKOFF_SECONDS", (1,))
    endpoint = receiver(fail=99)
    credential = credential_create(user=cast.editor, name="down", kind="secret",
                                   secret=f"json://127.0.0.1:{endpoint.port}/hook")  # fmt: skip
    runbook = make_runbook(cast.owner, FAILING)
    notification_create(runbook=runbook, user=cast.editor,
                        data={"events": ["failed"], "channel": "apprise", "target": str(credential.pk)})  # fmt: skip
    run(execution_start(runbook=runbook, user=cast.runner), django_capture_on_commit_callbacks)
    work(quiet_queue, until=lambda: NotificationAttempt.objects.filter(status=AttemptStatus.GAVE_UP).exists())
    assert list(NotificationAttempt.objects.order_by("number").values_list("status", flat=True)) == [
        AttemptStatus.FAILED,
        AttemptStatus.GAVE_UP,
    ]


def test_a_secret_in_a_notification_is_masked(cast, make_runbook, sink, receiver, quiet_queue,
                                              django_capture_on_commit_callbacks):  # fmt: skip
    endpoint = receiver()
    credential_create(user=cast.owner, name="db-password", kind="secret", secret=SECRET)
    hook = credential_create(user=cast.editor, name="hook", kind="secret",
                             secret=f"json://127.0.0.1:{endpoint.port}/hook")  # fmt: skip
    runbook = make_runbook(cast.owner, FAILING, parameters=PARAMETERS, title=f"Rotate {SECRET}")
    for data in ({"events": ["failed"], "channel": "email", "target": "viewer"},
                 {"events": ["failed"], "channel": "apprise", "target": str(hook.pk)}):  # fmt: skip
        notification_create(runbook=runbook, user=cast.editor, data=data)
    execution = execution_start(runbook=runbook, user=cast.runner, params={"token": SECRET})
    run(execution, django_capture_on_commit_callbacks)

    work(quiet_queue, until=lambda: NotificationAttempt.objects.filter(status=AttemptStatus.SENT).count() == 2)
    (message,) = wait_for_mail(sink, 1)
    posted = json.dumps(endpoint.requests)
    stored = json.dumps(list(NotificationAttempt.objects.values("subject", "error", "recipients")))
    for text in (message["text"], posted, stored):
        assert SECRET not in text and "***" in text
    assert "token=***" in message["text"]


def test_the_apprise_url_never_shows_in_the_attempt_when_the_channel_fails(cast, make_runbook, quiet_queue,
                                                                           monkeypatch,
                                                                           django_capture_on_commit_callbacks):  # fmt: skip
    monkeypatch.setattr(notifications, "BACKOFF_SECONDS", ())
    # Nothing listens on port 9 of loopback: the connection is refused, and apprise logs its URL.
    url = "jsons://user:hunter2-webhook-pass@127.0.0.1:9/hook"
    credential = credential_create(user=cast.editor, name="closed", kind="secret", secret=url)
    runbook = make_runbook(cast.owner, FAILING)
    notification_create(runbook=runbook, user=cast.editor,
                        data={"events": ["failed"], "channel": "apprise", "target": str(credential.pk)})  # fmt: skip
    run(execution_start(runbook=runbook, user=cast.runner), django_capture_on_commit_callbacks)
    work(quiet_queue, until=lambda: NotificationAttempt.objects.filter(status=AttemptStatus.GAVE_UP).exists())
    attempt = NotificationAttempt.objects.get()
    assert attempt.error and "hunter2-webhook-pass" not in attempt.error + attempt.subject + attempt.recipients


def test_nothing_is_queued_for_a_runbook_without_notifications(cast, make_runbook, quiet_queue,
                                                               django_capture_on_commit_callbacks):  # fmt: skip
    runbook = make_runbook(cast.owner, FAILING)
    run(execution_start(runbook=runbook, user=cast.runner), django_capture_on_commit_callbacks)
    assert quiet_queue.count == 0


def test_a_deleted_notification_sends_nothing(cast, make_runbook, sink, quiet_queue,
                                              django_capture_on_commit_callbacks):  # fmt: skip
    runbook = make_runbook(cast.owner, FAILING)
    notification = notification_create(runbook=runbook, user=cast.editor,
                                        data={"events": ["failed"], "channel": "email", "target": "viewer"})  # fmt: skip
    run(execution_start(runbook=runbook, user=cast.runner), django_capture_on_commit_callbacks)
    Notification.objects.filter(pk=notification.pk).delete()
    SimpleWorker([quiet_queue], connection=quiet_queue.connection).work(burst=True)
    assert sink.messages == [] and not NotificationAttempt.objects.exists()


def test_an_apprise_url_to_a_private_address_is_refused_like_an_api_call_step(cast, make_runbook, receiver, settings,
                                                                              quiet_queue,
                                                                              django_capture_on_commit_callbacks):  # fmt: skip
    settings.RUNBOOKS_HTTP_ALLOWLIST = []
    endpoint = receiver()
    credential = credential_create(user=cast.editor, name="inside", kind="secret",
                                   secret=f"json://127.0.0.1:{endpoint.port}/admin")  # fmt: skip
    runbook = make_runbook(cast.owner, FAILING)
    notification_create(runbook=runbook, user=cast.editor,
                        data={"events": ["failed"], "channel": "apprise", "target": str(credential.pk)})  # fmt: skip
    run(execution_start(runbook=runbook, user=cast.runner), django_capture_on_commit_callbacks)
    work(quiet_queue, until=lambda: NotificationAttempt.objects.exists())
    (attempt,) = NotificationAttempt.objects.all()
    assert attempt.status == AttemptStatus.GAVE_UP and "RUNBOOKS_HTTP_ALLOWLIST" in attempt.error
    assert endpoint.requests == []
