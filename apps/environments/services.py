"""Writes of execution environments: create, change, delete, and building an inline Dockerfile.

The pages, the API and the build job all call these; staff alone may write.
"""

import hashlib
import io

import docker
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.core.errors import InvalidInput
from apps.environments.models import ExecutionEnvironment
from apps.environments.selectors import environment_manage_check, environment_users
from apps.environments.signals import environment_build_requested
from apps.environments.validation import environment_clean
from apps.sandbox.client import docker_client

# The build log is for a human reading why a build failed; its tail is what matters.
MAX_BUILD_LOG_CHARS = 64 * 1024
UNQUEUED_LOG = "Could not queue the build: Redis is not reachable. Use Rebuild once it is back.\n"


def _audit_detail(environment: ExecutionEnvironment, changed: list[str] | None = None) -> dict:
    # The env dict may hold values an operator considers sensitive; history names keys only.
    detail = {"name": environment.name, "image": environment.image, "env_keys": sorted(environment.env or {})}
    if changed is not None:
        detail["changed"] = changed
    return detail


def _make_only_default(environment: ExecutionEnvironment) -> None:
    ExecutionEnvironment.objects.exclude(pk=environment.pk).filter(is_default=True).update(is_default=False)


def environment_create(*, user, data: dict) -> ExecutionEnvironment:
    environment_manage_check(user)
    cleaned = environment_clean(data)
    # Runbooks without an environment run in the default one: the first environment becomes it.
    if not ExecutionEnvironment.objects.filter(is_default=True).exists():
        cleaned["is_default"] = True
    try:
        with transaction.atomic():
            environment = ExecutionEnvironment.objects.create(**cleaned)
            if environment.is_default:
                _make_only_default(environment)
            audit_record(actor=user, action="environment.create", obj=environment, detail=_audit_detail(environment))
            if environment.dockerfile:
                _request_build(environment, user=user)
    except IntegrityError:
        raise InvalidInput({"name": ["An environment with this name already exists."]}) from None
    return environment


def environment_update(*, environment: ExecutionEnvironment, user, data: dict) -> ExecutionEnvironment:
    """Change the given fields (a partial update); a changed Dockerfile is rebuilt."""
    environment_manage_check(user)
    cleaned = environment_clean(data, instance=environment)
    if environment.is_default and cleaned.get("is_default") is False:
        raise InvalidInput({"is_default": ["Make another environment the default instead."]})
    changed = [name for name, value in cleaned.items() if getattr(environment, name) != value]
    rebuild = bool(cleaned["dockerfile"]) and (
        cleaned["dockerfile"] != environment.dockerfile or environment.build_status in ("none", "failed")
    )
    try:
        with transaction.atomic():
            for name, value in cleaned.items():
                setattr(environment, name, value)
            if not environment.dockerfile:
                environment.build_status, environment.built_image, environment.build_log = "none", "", ""
                environment.built_at = None
            environment.save()
            if environment.is_default:
                _make_only_default(environment)
            if changed:
                audit_record(
                    actor=user, action="environment.change", obj=environment, detail=_audit_detail(environment, changed)
                )
            if rebuild:
                _request_build(environment, user=user)
    except IntegrityError:
        raise InvalidInput({"name": ["An environment with this name already exists."]}) from None
    return environment


def environment_delete(*, environment: ExecutionEnvironment, user) -> None:
    environment_manage_check(user)
    if environment.is_default:
        raise InvalidInput(
            {"non_field_errors": ["The default environment cannot be deleted; make another one the default first."]}
        )
    users = environment_users(environment)
    if users:
        titles = ", ".join(f"“{runbook.title}”" for runbook in users[:20])
        more = f" and {len(users) - 20} more" if len(users) > 20 else ""
        raise InvalidInput(
            {
                "non_field_errors": [
                    f"Runbooks still use this environment: {titles}{more}. Move them to another one first."
                ]
            }
        )
    with transaction.atomic():
        audit_record(actor=user, action="environment.delete", obj=environment, detail=_audit_detail(environment))
        environment.delete()


def environment_tag(dockerfile: str) -> str:
    """Images are tagged by content, so an unchanged Dockerfile maps to the same image."""
    return f"runbooks-env:{hashlib.sha256(dockerfile.encode('utf-8')).hexdigest()[:12]}"


def _request_build(environment: ExecutionEnvironment, *, user) -> None:
    ExecutionEnvironment.objects.filter(pk=environment.pk).update(build_status="building", build_log="")
    environment.build_status, environment.build_log = "building", ""
    audit_record(
        actor=user, action="environment.build", obj=environment, detail={"tag": environment_tag(environment.dockerfile)}
    )
    pk = environment.pk
    # After commit: the job must find the row (and the Dockerfile) the request just saved.
    transaction.on_commit(lambda: environment_build_requested.send(sender=ExecutionEnvironment, environment_id=pk))


def environment_build_request(*, environment: ExecutionEnvironment, user) -> None:
    """Queue a (re)build of an environment's Dockerfile; the page polls build_status."""
    environment_manage_check(user)
    if not environment.dockerfile:
        raise InvalidInput({"dockerfile": ["This environment uses an image reference; there is nothing to build."]})
    with transaction.atomic():
        _request_build(environment, user=user)


def _log_text(events) -> str:
    parts = []
    for event in events:
        if not isinstance(event, dict):
            continue
        for key in ("stream", "status", "error"):
            if isinstance(event.get(key), str):
                parts.append(event[key] if key == "stream" else event[key] + "\n")
    text = "".join(parts)
    if len(text) > MAX_BUILD_LOG_CHARS:
        text = "…(earlier lines cut)\n" + text[-MAX_BUILD_LOG_CHARS:]
    return text


def environment_build(*, environment: ExecutionEnvironment) -> ExecutionEnvironment:
    """Build the inline Dockerfile with the Docker engine; store status, image tag and log."""
    tag = environment_tag(environment.dockerfile)
    status, built_image, log = "failed", "", ""
    try:
        client = docker_client(timeout=600)
    except docker.errors.DockerException as error:
        log = f"Docker engine not reachable: {error}\n"
    else:
        try:
            _, events = client.images.build(
                fileobj=io.BytesIO(environment.dockerfile.encode("utf-8")),
                tag=tag,
                rm=True,
                forcerm=True,
                pull=False,
            )
            status, built_image, log = "ready", tag, _log_text(events)
        except docker.errors.BuildError as error:
            log = _log_text(error.build_log) + f"\nBuild failed: {error.msg}\n"
        except docker.errors.APIError as error:
            log = f"The Docker engine refused the build: {error.explanation or error}\n"
        except docker.errors.DockerException as error:
            log = f"Docker engine not reachable: {error}\n"
        finally:
            client.close()
    now = timezone.now()
    ExecutionEnvironment.objects.filter(pk=environment.pk).update(
        build_status=status, built_image=built_image, build_log=log, built_at=now
    )
    environment.build_status, environment.built_image, environment.build_log = status, built_image, log
    environment.built_at = now
    audit_record(actor=None, action="environment.build", obj=environment, detail={"tag": tag, "status": status})
    return environment


def environment_build_unqueued(*, environment_id: int) -> None:
    """The build could not be queued: the environment says so instead of "building" forever."""
    ExecutionEnvironment.objects.filter(pk=environment_id).update(build_status="failed", build_log=UNQUEUED_LOG)
