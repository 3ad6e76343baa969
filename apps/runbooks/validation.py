"""Checks of a runbook's fields and block list, shared by the pages, the API and the admin."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug

from apps.blocks.kinds import KIND_FORMS, ConfigError, validate_config
from apps.core.errors import InvalidInput, TooLarge
from apps.core.text import text_problem

PARAMETER_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_TAGS = 20
MAX_PARAMETERS = 50


def _storable(field: str, value: str) -> str:
    """The value, or InvalidInput naming `field` when PostgreSQL could not store it (NUL, lone surrogates).

    The API's parser refuses these already; this covers the pages and the admin, whose form data
    reaches the services unchecked.
    """
    problem = text_problem(value)
    if problem:
        raise InvalidInput({field: [problem]})
    return value


def clean_title(title) -> str:
    if not isinstance(title, str) or not title.strip():
        raise InvalidInput({"title": ["A title is required."]})
    _storable("title", title)
    if len(title) > 200:
        raise InvalidInput({"title": ["Keep the title under 200 characters."]})
    return title.strip()


def clean_description(description) -> str:
    if description is None:
        return ""
    if not isinstance(description, str):
        raise InvalidInput({"description": ["The description must be text."]})
    _storable("description", description)
    size = len(description.encode("utf-8"))
    limit = settings.RUNBOOKS_MAX_DESCRIPTION_BYTES
    if size > limit:
        raise TooLarge({"description": [f"The description is {size:,} bytes; the limit is {limit:,} bytes."]})
    return description


def clean_tags(tags) -> list[str]:
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = [part for part in re.split(r"[,]+", tags)]
    if not isinstance(tags, (list, tuple)) or not all(isinstance(tag, str) for tag in tags):
        raise InvalidInput({"tags": ["Tags must be a list of words."]})
    for tag in tags:
        _storable("tags", tag)
    cleaned: list[str] = []
    for tag in tags:
        tag = tag.strip().lower()
        if not tag:
            continue
        if len(tag) > 50:
            raise InvalidInput({"tags": [f"“{tag[:20]}…” is longer than 50 characters."]})
        if tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise InvalidInput({"tags": [f"At most {MAX_TAGS} tags."]})
    return cleaned


PARAMETER_FIELDS = frozenset({"name", "label", "default", "required", "choices"})


def _clean_choices(choices, default, problems: dict) -> list | None:
    if choices is None:
        return None
    if not isinstance(choices, list) or not all(isinstance(choice, str) and choice for choice in choices):
        problems["choices"] = ["Choices must be a list of non-empty text values, or null."]
    elif any(text_problem(choice) for choice in choices):
        problems["choices"] = [next(filter(None, map(text_problem, choices)))]
    elif not choices:
        return None
    elif default not in (None, "") and default not in choices:
        problems["default"] = ["The default must be one of the choices."]
    return choices


def _clean_parameter(parameter: dict, seen: set[str]) -> tuple[dict, dict[str, list[str]]]:
    """One parameter cleaned, and its problems by field; `seen` collects the names so far (upper case)."""
    problems = {name: ["Unknown field for a parameter."] for name in sorted(set(parameter) - PARAMETER_FIELDS)}
    name = parameter.get("name")
    if not isinstance(name, str) or not PARAMETER_NAME_RE.match(name):
        problems["name"] = ["Use letters, digits and _ (not starting with a digit), at most 64."]
    elif name.upper() in seen:
        problems["name"] = [f"“{name}” is already a parameter (names ignore case)."]
    else:
        seen.add(name.upper())
    label = parameter.get("label") or name or ""
    if not isinstance(label, str) or len(label) > 200:
        problems["label"] = ["The label must be text under 200 characters."]
    elif text_problem(label):
        problems["label"] = [text_problem(label)]
    default = parameter.get("default")
    if default is not None and not isinstance(default, str):
        problems["default"] = ["The default must be text."]
    elif default and text_problem(default):
        problems["default"] = [text_problem(default)]
    required = parameter.get("required", False)
    if not isinstance(required, bool):
        problems["required"] = ["Required must be true or false."]
    choices = _clean_choices(parameter.get("choices"), default, problems)
    cleaned = {
        "name": name,
        "label": label,
        "default": default if default != "" else None,
        "required": required,
        "choices": choices,
    }
    return cleaned, problems


def clean_parameters(parameters) -> list[dict]:
    if parameters is None:
        return []
    if not isinstance(parameters, list):
        raise InvalidInput({"parameters": ["Parameters must be a list."]})
    if len(parameters) > MAX_PARAMETERS:
        raise InvalidInput({"parameters": [f"At most {MAX_PARAMETERS} parameters."]})
    cleaned, errors, seen = [], [], set()
    for parameter in parameters:
        if not isinstance(parameter, dict):
            errors.append({"non_field_errors": ["Each parameter must be an object."]})
            continue
        parameter_cleaned, problems = _clean_parameter(parameter, seen)
        errors.append(problems)
        cleaned.append(parameter_cleaned)
    if any(errors):
        raise InvalidInput({"parameters": errors})
    return cleaned


def clean_block_key(key) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidInput({"key": ["A key is required."]})
    try:
        validate_slug(key)
    except ValidationError:
        raise InvalidInput({"key": [f"“{key}” is not a valid key: use letters, digits, - and _ only."]}) from None
    if len(key) > 64:
        raise InvalidInput({"key": ["Keep the key under 64 characters."]})
    return key


def clean_block(block) -> dict:
    """One block of the API's shape: {key, title, kind, config}."""
    if not isinstance(block, dict):
        raise InvalidInput({"non_field_errors": ["Each block must be an object."]})
    errors: dict[str, list] = {}
    unknown = set(block) - {"key", "title", "kind", "config"}
    for name in sorted(unknown):
        errors[name] = ["Unknown field for a block."]
    try:
        key = clean_block_key(block.get("key"))
    except InvalidInput as error:
        errors.update(error.errors)
        key = None
    title = block.get("title") or ""
    if not isinstance(title, str) or len(title) > 200:
        errors["title"] = ["The title must be text under 200 characters."]
    elif text_problem(title):
        errors["title"] = [text_problem(title)]
    kind = block.get("kind")
    config = None
    if not isinstance(kind, str) or kind not in KIND_FORMS:
        errors["kind"] = [f"Unknown block kind “{kind}”. Choose one of: {', '.join(KIND_FORMS)}."]
    else:
        try:
            config = validate_config(kind, block.get("config", {}))
        except ConfigError as error:
            errors["config"] = error.errors
    if errors:
        raise InvalidInput(errors)
    return {"key": key, "title": title.strip(), "kind": kind, "config": config}


def check_block_sizes(blocks: list) -> None:
    """Size limits answer 413 in the API, before any per-field validation."""
    limit = settings.RUNBOOKS_MAX_BLOCKS
    if len(blocks) > limit:
        raise TooLarge({"blocks": [f"A runbook has at most {limit} blocks; this one has {len(blocks)}."]})
    script_limit = settings.RUNBOOKS_MAX_SCRIPT_BYTES
    for block in blocks:
        if isinstance(block, dict) and isinstance(block.get("config"), dict):
            script = block["config"].get("script")
            if isinstance(script, str) and len(script.encode("utf-8")) > script_limit:
                raise TooLarge(
                    {"blocks": [f"The script of “{block.get('key')}” is over the {script_limit:,}-byte limit."]}
                )


def clean_blocks(blocks) -> list[dict]:
    if blocks is None:
        return []
    if not isinstance(blocks, list):
        raise InvalidInput({"blocks": ["Blocks must be a list."]})
    check_block_sizes(blocks)
    cleaned, errors = [], []
    for block in blocks:
        try:
            cleaned.append(clean_block(block))
            errors.append({})
        except InvalidInput as error:
            cleaned.append(None)
            errors.append(error.errors)
    keys = [block["key"] for block in cleaned if block]
    for index, block in enumerate(cleaned):
        if block and keys.count(block["key"]) > 1:
            errors[index].setdefault("key", []).append(f"The key “{block['key']}” is used by another block.")
    if any(errors):
        raise InvalidInput({"blocks": errors})
    check_gotos(cleaned)
    return cleaned


def check_gotos(blocks: list[dict]) -> None:
    """A conditional may only jump forward, to a block that exists."""
    keys = [block["key"] for block in blocks]
    errors: list[dict] = [{} for _ in blocks]
    for index, block in enumerate(blocks):
        if block["kind"] != "conditional":
            continue
        for field in ("on_true", "on_false"):
            action = block["config"][field]
            if action.startswith("goto:"):
                target = action[5:]
                if target not in keys:
                    errors[index].setdefault("config", {})[field] = [f"There is no block with the key “{target}”."]
                elif keys.index(target) <= index:
                    errors[index].setdefault("config", {})[field] = [
                        f"“{target}” is not after this block; goto may only jump forward."
                    ]
    if any(errors):
        raise InvalidInput({"blocks": errors})
