"""Every rule an environment's fields must meet, checked at once: the pages, the API and the admin
all save through the services, which clean with this."""

import re
from decimal import Decimal, InvalidOperation

from apps.core.errors import InvalidInput
from apps.environments.models import ExecutionEnvironment
from apps.sandbox.client import DockerUnavailable, runtime_problem

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
ENV_NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
# Docker's reference grammar (distribution/reference), without the rarely used IPv6 registry form.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?"
IMAGE_RE = re.compile(
    rf"^(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::[\w][\w.-]{{0,127}})?(?:@sha256:[a-f0-9]{{64}})?$"
)


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


def _name(value, *, instance: ExecutionEnvironment | None, errors: dict) -> str:
    name = _text(value, "name", errors).strip()
    if "name" in errors:
        return name
    if not name:
        errors["name"] = ["Give the environment a name."]
    elif len(name) > 100:
        errors["name"] = ["Keep the name to 100 characters."]
    elif ExecutionEnvironment.objects.filter(name__iexact=name).exclude(pk=getattr(instance, "pk", None)).exists():
        errors["name"] = [f"An environment named “{name}” already exists."]
    return name


def _source_problem(image: str, dockerfile: str) -> tuple[str, str] | None:
    """(field, message) when the pair of image and Dockerfile is not exactly one good source."""
    if image and dockerfile.strip():
        return "image", "Give either an image or a Dockerfile, not both."
    if not image and not dockerfile.strip():
        return "image", "Give an image reference (e.g. alpine:3.20) or a Dockerfile to build."
    if image and (len(image) > 255 or not IMAGE_RE.match(image)):
        return "image", "This is not a valid image reference (e.g. alpine:3.20 or registry.example.com/team/tool:1.2)."
    if dockerfile.strip():
        if len(dockerfile.encode("utf-8")) > MAX_DOCKERFILE_BYTES:
            return "dockerfile", f"Keep the Dockerfile under {MAX_DOCKERFILE_BYTES:,} bytes."
        if not re.search(r"^\s*FROM\s+\S", dockerfile, re.IGNORECASE | re.MULTILINE):
            return "dockerfile", "A Dockerfile needs a FROM line."
    return None


def _source(merged: dict, errors: dict) -> tuple[str, str]:
    """The image reference and the Dockerfile (empty when blank): one of them, never both."""
    image = _text(merged.get("image"), "image", errors).strip()
    dockerfile = _text(merged.get("dockerfile"), "dockerfile", errors).replace("\r\n", "\n")
    if "image" not in errors and "dockerfile" not in errors:
        problem = _source_problem(image, dockerfile)
        if problem:
            errors[problem[0]] = [problem[1]]
    return image, dockerfile if dockerfile.strip() else ""


def _network(value, errors: dict) -> str:
    network = value or ExecutionEnvironment.Network.NONE
    if network not in ExecutionEnvironment.Network.values:
        errors["network"] = ["Choose “none” or “bridge”."]
    return network


def environment_clean(data: dict, *, instance: ExecutionEnvironment | None = None) -> dict:
    """Every field checked at once; raises InvalidInput with all the problems, writes nothing."""
    errors: dict[str, list[str]] = {}
    unknown = set(data) - set(FIELDS) - {"is_default"}
    for name in sorted(unknown, key=str):
        errors[str(name)] = ["Unknown field for an environment."]
    current = {name: getattr(instance, name) for name in FIELDS} if instance else {}
    merged = {**current, **{key: value for key, value in data.items() if key in FIELDS}}
    cleaned: dict = {"name": _name(merged.get("name"), instance=instance, errors=errors)}
    cleaned["image"], cleaned["dockerfile"] = _source(merged, errors)
    cleaned["network"] = _network(merged.get("network"), errors)
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
