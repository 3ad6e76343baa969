"""The demo data `make run` starts with (`manage.py seed_demo`); the first screen's button loads it too.

In runbooks, the lowest app that has all it needs (environments, users, runbooks, versions).

Idempotent: each thing is looked up by its natural name first, so a second run changes nothing.
Generated passwords live in files under var/ (mode 0600), never in the database in clear or in logs.
"""

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from apps.environments.models import ExecutionEnvironment
from apps.runbooks.models import Runbook
from apps.runbooks.roles import Role
from apps.runbooks.services.access import runbook_grant
from apps.runbooks.services.runbooks import runbook_create
from apps.runbooks.versions import runbook_publish

ADMIN_USERNAME = "admin"
ONCALL_USERNAME = "oncall"
TEAM_NAME = "sre"
ENVIRONMENT_NAME = "default"
# Built locally by the execution work (no registry is reachable from our machines).
ENVIRONMENT_IMAGE = "runbooks-runner:latest"
ADMIN_PASSWORD_FILE = "demo_admin_password"
ONCALL_PASSWORD_FILE = "demo_oncall_password"


@dataclass
class DemoResult:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    admin_password_file: Path | None = None
    oncall_password_file: Path | None = None

    @property
    def changed(self) -> bool:
        return bool(self.created)


RESTART_SERVICE = {
    "title": "Restart a stuck web service",
    "description": (
        "Use when a service stops answering but its host is healthy.\n\n"
        "1. **Announce** the restart in the incident channel.\n"
        "2. The runbook checks the process, waits for it to settle and verifies upstream status.\n\n"
        "_Escalate_ to the service owner if the second restart does not help."
    ),
    "tags": ["demo", "restart", "web"],
    "parameters": [
        {
            "name": "service",
            "label": "Service to restart",
            "default": "payments-api",
            "required": True,
            "choices": ["payments-api", "checkout-web", "search-api"],
        }
    ],
    "blocks": [
        {
            "key": "announce",
            "title": "Announce the restart",
            "kind": "instruction",
            "config": {
                "markdown": "Post in **#incidents**: _restarting the service now, expect errors for a minute_.",
                "gate": "confirm",
            },
        },
        {
            "key": "check",
            "title": "Check the process",
            "kind": "command",
            "config": {"script": 'echo "Checking the service process"\nps\nuptime\n', "shell": "sh"},
        },
        {
            "key": "self-healing",
            "title": "Does this service restart itself?",
            "kind": "conditional",
            "config": {
                # search-api is supervised and restarts on its own: go straight to verification.
                "expression": "params.service == 'search-api'",
                "on_true": "goto:verify",
                "on_false": "continue",
            },
        },
        {
            "key": "restart",
            "title": "Restart",
            "kind": "command",
            "config": {"script": 'echo "Sending the restart signal"\necho done\n', "shell": "sh"},
        },
        {
            "key": "settle",
            "title": "Let it settle",
            "kind": "timer",
            "config": {"seconds": 30},
        },
        {
            "key": "verify",
            "title": "Check upstream status",
            "kind": "api_call",
            "config": {
                "method": "GET",
                "url": "https://www.githubstatus.com/api/v2/status.json",
                "expected_status": [200],
                "timeout_seconds": 10,
            },
        },
    ],
}

INVESTIGATE_LATENCY = {
    "title": "Investigate high API latency",
    "description": (
        "Triage for the **p95 latency** alert.\n\n"
        "| signal | where |\n|---|---|\n| latency | dashboard *API overview* |\n| errors | the error tracker |\n\n"
        "Stop as soon as the cause is clear and hand over to the owning team."
    ),
    "tags": ["demo", "latency", "api"],
    "parameters": [{"name": "region", "label": "Region", "default": "eu-west-1", "required": True, "choices": None}],
    "blocks": [
        {
            "key": "look",
            "title": "Look at the dashboard",
            "kind": "instruction",
            "config": {
                "markdown": "Open the *API overview* dashboard for the region and note the start time.",
                "gate": "none",
            },
        },
        {
            "key": "upstream",
            "title": "Is the upstream provider degraded?",
            "kind": "api_call",
            "config": {
                "method": "GET",
                "url": "https://www.githubstatus.com/api/v2/status.json",
                "headers": {"Accept": "application/json"},
                "expected_status": [200],
                "timeout_seconds": 10,
                "continue_on_error": True,
            },
        },
        {
            "key": "upstream-ok",
            "title": "Upstream fine?",
            "kind": "conditional",
            "config": {
                "expression": "steps.upstream.status == 'succeeded'",
                "on_true": "goto:local-checks",
                "on_false": "stop",
            },
        },
        {
            "key": "wait-for-upstream",
            "title": "Give the provider five minutes",
            "kind": "timer",
            "config": {"seconds": 300},
        },
        {
            "key": "local-checks",
            "title": "Collect local numbers",
            "kind": "command",
            "config": {"script": 'echo "Load:"\ncat /proc/loadavg\necho "Memory:"\nfree\n', "shell": "sh"},
        },
        {
            "key": "handover",
            "title": "Hand over",
            "kind": "instruction",
            "config": {"markdown": "Page the owning team with what you found.", "gate": "confirm"},
        },
    ],
}

DEMO_RUNBOOKS = (RESTART_SERVICE, INVESTIGATE_LATENCY)


def _password_file(path: Path) -> tuple[str, bool]:
    """The password kept in `path`, created (0600 from the first byte) if missing; and whether it was new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        path.chmod(0o600)
        password = path.read_text().strip()
        if password:
            return password, False
        # An emptied file must never become an empty password: write a fresh one.
        descriptor = os.open(path, os.O_WRONLY | os.O_TRUNC)
    password = secrets.token_urlsafe(16)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(password + "\n")
    return password, True


def _ensure_user(username: str, password_path: Path, result: DemoResult, *, superuser: bool):
    User = get_user_model()
    password, new_password = _password_file(password_path)
    user = User.objects.filter(username=username).first()
    if user is None:
        if superuser:
            user = User.objects.create_superuser(username=username, email=f"{username}@example.com", password=password)
        else:
            user = User.objects.create_user(username=username, email=f"{username}@example.com", password=password)
        result.created.append(f"user {username}")
    elif new_password:
        # The file was lost (a wiped var/ with a kept database): the file is the source of truth.
        user.set_password(password)
        user.save(update_fields=["password"])
        result.created.append(f"password of {username}")
    else:
        result.existing.append(f"user {username}")
        if not user.check_password(password):
            result.warnings.append(f"{username}'s password was changed since {password_path} was written.")
    return user


def demo_accounts_at_risk(*, var_dir: Path | None = None) -> list[str]:
    """Existing accounts named like the demo's whose password file is missing or empty.

    demo_seed treats the file as the source of truth and gives such an account a fresh password:
    right for `make run` on a laptop, wrong for a click in a real install whose superuser happens
    to be called "admin" (they would be locked out of their own account).
    """
    var_dir = Path(var_dir or settings.VAR_DIR)
    User = get_user_model()
    at_risk = []
    for username, filename in ((ADMIN_USERNAME, ADMIN_PASSWORD_FILE), (ONCALL_USERNAME, ONCALL_PASSWORD_FILE)):
        path = var_dir / filename
        has_password = path.is_file() and path.read_text().strip() != ""
        if not has_password and User.objects.filter(username=username).exists():
            at_risk.append(username)
    return at_risk


@transaction.atomic
def demo_seed(*, var_dir: Path | None = None) -> DemoResult:
    var_dir = Path(var_dir or settings.VAR_DIR)
    result = DemoResult(
        admin_password_file=var_dir / ADMIN_PASSWORD_FILE,
        oncall_password_file=var_dir / ONCALL_PASSWORD_FILE,
    )

    environment = ExecutionEnvironment.objects.filter(name=ENVIRONMENT_NAME).first()
    if environment is None:
        has_default = ExecutionEnvironment.objects.filter(is_default=True).exists()
        environment = ExecutionEnvironment.objects.create(
            name=ENVIRONMENT_NAME, image=ENVIRONMENT_IMAGE, is_default=not has_default
        )
        result.created.append(f"environment {ENVIRONMENT_NAME}")
    else:
        result.existing.append(f"environment {ENVIRONMENT_NAME}")

    admin = _ensure_user(ADMIN_USERNAME, result.admin_password_file, result, superuser=True)
    oncall = _ensure_user(ONCALL_USERNAME, result.oncall_password_file, result, superuser=False)

    team, team_created = Group.objects.get_or_create(name=TEAM_NAME)
    (result.created if team_created else result.existing).append(f"group {TEAM_NAME}")
    if not oncall.groups.filter(pk=team.pk).exists():
        oncall.groups.add(team)
        result.created.append(f"{ONCALL_USERNAME} in {TEAM_NAME}")

    for spec in DEMO_RUNBOOKS:
        # Archived ones count as present: someone removed the demo on purpose.
        if Runbook.objects.filter(title=spec["title"], owner=admin).exists():
            result.existing.append(f"runbook “{spec['title']}”")
            continue
        runbook = runbook_create(user=admin, environment=environment, **spec)
        runbook_grant(runbook=runbook, actor=admin, principal=team, role=Role.RUNNER)
        # Runners run published versions only: without v1 the on-call user could not run the demo.
        runbook_publish(runbook=runbook, user=admin, message="First version of the demo runbook")
        result.created.append(f"runbook “{spec['title']}”")
    return result
