"""Run parameters: what the person starting a run gives, checked against the runbook's parameters."""

from apps.core.errors import InvalidInput

# Values become environment variables of containers; Docker refuses NUL and a huge value is a mistake.
MAX_VALUE_BYTES = 4 * 1024


def params_clean(parameters: list[dict], given) -> dict[str, str]:
    """{name: value} for every parameter of the snapshot: defaults applied, required and choices checked.

    Unknown names are refused rather than ignored, so a typo in an API call cannot silently run with
    a default. Raises InvalidInput({"params": {name: [message]}}) and returns nothing half-checked.
    """
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise InvalidInput({"params": {"non_field_errors": ["Give params as an object of name → text value."]}})
    errors: dict[str, list[str]] = {}
    known = {parameter["name"] for parameter in parameters or []}
    for name in sorted(set(given) - known, key=str):
        errors[str(name)] = ["This runbook has no such parameter."]
    cleaned: dict[str, str] = {}
    for parameter in parameters or []:
        name = parameter["name"]
        value = given.get(name)
        if value is not None and not isinstance(value, str):
            errors[name] = ["Give the value as text."]
            continue
        if value in (None, ""):
            value = parameter.get("default") or ""
        if value == "" and parameter.get("required"):
            errors[name] = ["This parameter is required."]
            continue
        if "\x00" in value:
            errors[name] = ["The value cannot contain a NUL character."]
            continue
        if len(value.encode("utf-8")) > MAX_VALUE_BYTES:
            errors[name] = [f"Keep the value under {MAX_VALUE_BYTES:,} bytes."]
            continue
        choices = parameter.get("choices")
        if choices and value != "" and value not in choices:
            errors[name] = [f"Choose one of: {', '.join(choices)}."]
            continue
        cleaned[name] = value
    if errors:
        raise InvalidInput({"params": errors})
    return cleaned
