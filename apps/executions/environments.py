"""Execution environments: the image and limits command steps run under. Staff manage them.

Services (writes) and selectors (reads) in one module: it is one screen of related rules, and the
pages, the API and the build job all call these.
"""

import hashlib
import io
import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from apps.audit.services import audit_record
from apps.core.errors import InvalidInput
from apps.executions.models import ExecutionEnvironment

FIELDS = (
    "name", "image", "dockerfile", "network", "runtime", "memory_mb", "cpus", "pids_limit", "timeout_seconds", "env",
)  # fmt: skip
LIMITS = {
    "memory_mb": (16, 65536, "MiB"),
    "pids_limit": (8, 32768, "processes"),
    "timeout_seconds": (1, 86400, "seconds"),
}
CPU_RANGE = (Decimal("0.1"), Decimal("64"))
MAX_DOCKERFILE_BYTES = 64 * 1024
MAX_ENV_ENTRIES = 100
MAX_ENV_VALUE_BYTES = 4 * 1024
# The build log is for a human reading why a build failed; its tail is what matters.
MAX_BUILD_LOG_CHARS = 64 * 1024
ENV_NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
# Docker's reference grammar (distribution/reference), without the rarely used IPv6 registry form.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?"
IMAGE_RE = re.compile(
    rf"^(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::[\w][\w.-]{{0,127}})?(?:@sha256:[a-f0-9]{{64}})?$"
)


# Selectors ------------------------------------------------------------------------------------


def environments_visible_to(user) -> QuerySet:
    """Every environment: any signed-in user may see and pick one."""
    if not user.is_authenticated:
        return ExecutionEnvironment.objects.none()
    return ExecutionEnvironment.objects.order_by("-is_default", "name")


def environment_for_user(user, pk, *, manage: bool = False) -> ExecutionEnvironment:
    """404 for anonymous users and unknown ids; 403 when `manage` and the user is not staff."""
    if not user.is_authenticated:
        raise Http404("No such environment.")
    try:
        environment = ExecutionEnvironment.objects.get(pk=pk)
    except (ExecutionEnvironment.DoesNotExist, ValueError, TypeError):
        raise Http404("No such environment.") from None
    if manage:
        _require_staff(user)
    return environment


def environment_users(environment: ExecutionEnvironment) -> list:
    """Runbooks (archived ones too) whose environment this is: they block its deletion."""
    return list(environment.runbooks.order_by("title").only("pk", "title", "archived_at"))


# Validation -----------------------------------------------------------------------------------


def _require_staff(user) -> None:
    if not (user.is_authenticated and user.is_staff):
        raise PermissionDenied("Only staff manage execution environments.")


def _whole_number(value, field: str, errors: dict):
    low, high, unit = LIMITS[field]
    if isinstance(value, bool):
        value = None
    elif isinstance(value, str):
        value = value.strip()
        value = int(value) if re.fullmatch(r"-?\d{1,9}", value) else None
    elif isinstance(value, float):
        value = int(value) if value.is_integer() else None
    elif not isinstance(value, int):
        value = None
    if value is None:
        errors[field] = ["Give a whole number."]
    elif not low <= value <= high:
        errors[field] = [f"Give a value from {low:,} to {high:,} {unit}."]
    return value


def _cpus(value, errors: dict):
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        errors["cpus"] = ["Give a number of CPUs, e.g. 0.5 or 2."]
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        errors["cpus"] = ["Give a number of CPUs, e.g. 0.5 or 2."]
        return None
    if not number.is_finite() or not CPU_RANGE[0] <= number <= CPU_RANGE[1]:
        errors["cpus"] = ["Give from 0.1 to 64 CPUs."]
        return None
    if number != number.quantize(Decimal("0.01")):
        errors["cpus"] = ["Use at most two decimals."]
        return None
    return number


def _env(value, errors: dict) -> dict:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        errors["env"] = ["Give environment variables as an object of NAME → text value."]
        return {}
    problems = []
    if len(value) > MAX_ENV_ENTRIES:
        problems.append(f"At most {MAX_ENV_ENTRIES} variables.")
    for name, item in value.items():
        if not isinstance(name, str) or not ENV_NAME_RE.match(name):
            problems.append(f"“{name}” is not a valid name: use A–Z, 0–9 and _, not starting with a digit.")
        elif name.startswith(("RB_PARAM_", "RB_SECRET_")):
            problems.append(f"“{name}”: names starting with RB_PARAM_ or RB_SECRET_ are reserved for runs.")
        elif not isinstance(item, str):
            problems.append(f"The value of {name} must be text.")
        elif "\x00" in item or len(item.encode("utf-8")) > MAX_ENV_VALUE_BYTES:
            problems.append(f"The value of {name} must be under {MAX_ENV_VALUE_BYTES:,} bytes, without NUL.")
    if problems:
        errors["env"] = problems
    return dict(value)


def _runtime(value, *, changed: bool, errors: dict) -> str:
    """runc or runsc; a runtime other than runc must be one the Docker engine reports, checked when
    it is set (a web process without the engine's socket cannot ask: the run then says so)."""
    from apps.sandbox.client import DockerUnavailable, runtime_problem

    runtime = value or ExecutionEnvironment.Runtime.RUNC
    if runtime not in ExecutionEnvironment.Runtime.values:
        errors["runtime"] = ["Choose “runc” (Docker's default) or “runsc” (gVisor)."]
        return ExecutionEnvironment.Runtime.RUNC
    if changed and runtime != ExecutionEnvironment.Runtime.RUNC:
        try:
            problem = runtime_problem(runtime)
        except DockerUnavailable:
            problem = None
        if problem:
            errors["runtime"] = [problem]
    return runtime


def _text(value, field: str, errors: dict) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[field] = ["Give text."]
        return ""
    return value


def environment_clean(data: dict, *, instance: ExecutionEnvironment | None = None) -> dict:
    """Every field checked at once; raises InvalidInput with all the problems, writes nothing."""
    errors: dict[str, list[str]] = {}
    unknown = set(data) - set(FIELDS) - {"is_default"}
    for name in sorted(unknown, key=str):
        errors[str(name)] = ["Unknown field for an environment."]
    current = {name: getattr(instance, name) for name in FIELDS} if instance else {}
    merged = {**current, **{key: value for key, value in data.items() if key in FIELDS}}
    cleaned: dict = {}

    name = _text(merged.get("name"), "name", errors).strip()
    if "name" not in errors:
        if not name:
            errors["name"] = ["Give the environment a name."]
        elif len(name) > 100:
            errors["name"] = ["Keep the name to 100 characters."]
        elif ExecutionEnvironment.objects.filter(name__iexact=name).exclude(pk=getattr(instance, "pk", None)).exists():
            errors["name"] = [f"An environment named “{name}” already exists."]
    cleaned["name"] = name

    image = _text(merged.get("image"), "image", errors).strip()
    dockerfile = _text(merged.get("dockerfile"), "dockerfile", errors).replace("\r\n", "\n")
    if "image" not in errors and "dockerfile" not in errors:
        if image and dockerfile.strip():
            errors["image"] = ["Give either an image or a Dockerfile, not both."]
        elif not image and not dockerfile.strip():
            errors["image"] = ["Give an image reference (e.g. alpine:3.20) or a Dockerfile to build."]
        elif image and (len(image) > 255 or not IMAGE_RE.match(image)):
            errors["image"] = [
                "This is not a valid image reference (e.g. alpine:3.20 or registry.example.com/team/tool:1.2)."
            ]
        elif dockerfile.strip():
            if len(dockerfile.encode("utf-8")) > MAX_DOCKERFILE_BYTES:
                errors["dockerfile"] = [f"Keep the Dockerfile under {MAX_DOCKERFILE_BYTES:,} bytes."]
            elif not re.search(r"^\s*FROM\s+\S", dockerfile, re.IGNORECASE | re.MULTILINE):
                errors["dockerfile"] = ["A Dockerfile needs a FROM line."]
    cleaned["image"] = image
    cleaned["dockerfile"] = dockerfile if dockerfile.strip() else ""

    network = merged.get("network") or ExecutionEnvironment.Network.NONE
    if network not in ExecutionEnvironment.Network.values:
        errors["network"] = ["Choose “none” or “bridge”."]
    cleaned["network"] = network
    cleaned["runtime"] = _runtime(merged.get("runtime"), changed="runtime" in data or instance is None, errors=errors)
    for field, default in (("memory_mb", 256), ("pids_limit", 128), ("timeout_seconds", 3600)):
        cleaned[field] = _whole_number(merged.get(field, default), field, errors)
    cleaned["cpus"] = _cpus(merged.get("cpus", 1), errors)
    cleaned["env"] = _env(merged.get("env"), errors)
    if "is_default" in data:
        if not isinstance(data["is_default"], bool):
            errors["is_default"] = ["Give true or false."]
        cleaned["is_default"] = data["is_default"] is True
    if errors:
        raise InvalidInput(errors)
    return cleaned


# Services -------------------------------------------------------------------------------------


def _audit_detail(environment: ExecutionEnvironment, changed: list[str] | None = None) -> dict:
    # The env dict may hold values an operator considers sensitive; history names keys only.
    detail = {"name": environment.name, "image": environment.image, "env_keys": sorted(environment.env or {})}
    if changed is not None:
        detail["changed"] = changed
    return detail


def _make_only_default(environment: ExecutionEnvironment) -> None:
    ExecutionEnvironment.objects.exclude(pk=environment.pk).filter(is_default=True).update(is_default=False)


def environment_create(*, user, data: dict) -> ExecutionEnvironment:
    _require_staff(user)
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
    _require_staff(user)
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
    _require_staff(user)
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
    from apps.executions.jobs_environments import enqueue_build

    pk = environment.pk
    # After commit: the job must find the row (and the Dockerfile) the request just saved.
    transaction.on_commit(lambda: enqueue_build(pk))


def environment_build_request(*, environment: ExecutionEnvironment, user) -> None:
    """Queue a (re)build of an environment's Dockerfile; the page polls build_status."""
    _require_staff(user)
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
    import docker

    from apps.sandbox.client import docker_client

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
