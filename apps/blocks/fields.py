"""Form fields and validators of the kinds' config forms (apps.blocks.kinds).

Each field accepts both the API's native JSON value and the string an HTML form posts, and refuses
what is neither instead of str()-ing it.
"""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from jinja2 import TemplateSyntaxError

from apps.blocks.executors.templating import check_expression, check_template

# RFC 9110 token characters; anything else (CR, LF, spaces, colons) could split or smuggle headers.
HEADER_NAME_RE = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
SIMPLE_ACTIONS = ("continue", "stop", "fail")


class IdListField(forms.Field):
    """A list of positive integer ids, from a JSON list or "1, 2" text."""

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            if isinstance(self.widget, forms.SelectMultiple):
                return [str(item) for item in value]
            return ", ".join(str(item) for item in value)
        return value

    def to_python(self, value):
        if value in (None, "", []):
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ValidationError("Enter a list of ids.")
        # A select posts one id per value, a text field "1, 2": both become [1, 2].
        value = [
            part
            for item in value
            for part in (re.split(r"[,\s]+", item) if isinstance(item, str) else [item])
            if part != ""
        ]
        ids = []
        for item in value:
            if isinstance(item, bool):
                raise ValidationError("Ids must be whole numbers.")
            try:
                number = int(item)
            except (TypeError, ValueError):
                raise ValidationError(f"“{item}” is not an id.") from None
            if number < 1:
                raise ValidationError("Ids must be positive.")
            if number not in ids:
                ids.append(number)
        return ids


class StatusListField(forms.Field):
    """Expected HTTP statuses, from a JSON list or "200, 201" text."""

    widget = forms.TextInput

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            return ", ".join(str(item) for item in value)
        return value

    def to_python(self, value):
        if value in (None, "", []):
            raise ValidationError("Give at least one expected status.", code="required")
        if isinstance(value, str):
            value = [part for part in re.split(r"[,\s]+", value) if part]
        if not isinstance(value, (list, tuple)):
            raise ValidationError("Enter a list of HTTP statuses.")
        statuses = []
        for item in value:
            try:
                if isinstance(item, bool):
                    raise ValueError
                status = int(item)
            except (TypeError, ValueError):
                raise ValidationError(f"“{item}” is not an HTTP status.") from None
            if not 100 <= status <= 599:
                raise ValidationError(f"{status} is not an HTTP status (100–599).")
            if status not in statuses:
                statuses.append(status)
        return statuses


class HeadersField(forms.Field):
    """Request headers, from a JSON object or "Name: value" lines."""

    widget = forms.Textarea(attrs={"rows": 3, "placeholder": "Accept: application/json"})

    def prepare_value(self, value):
        if isinstance(value, dict):
            return "\n".join(f"{name}: {header}" for name, header in value.items())
        return value

    def to_python(self, value):
        if value in (None, "", {}):
            return {}
        if isinstance(value, str):
            parsed = {}
            for number, line in enumerate(value.splitlines(), start=1):
                if not line.strip():
                    continue
                if ":" not in line:
                    raise ValidationError(f"Line {number}: write headers as “Name: value”.")
                name, _, header = line.partition(":")
                parsed[name.strip()] = header.strip()
            value = parsed
        if not isinstance(value, dict):
            raise ValidationError("Headers must be an object of names to values.")
        for name, header in value.items():
            if not isinstance(name, str) or not HEADER_NAME_RE.match(name):
                raise ValidationError(f"“{name}” is not a valid header name (letters, digits and -_. only).")
            if not isinstance(header, str):
                raise ValidationError(f"The value of {name} must be text.")
            if "\r" in header or "\n" in header or "\0" in header:
                raise ValidationError(f"The value of {name} may not contain line breaks.")
        return dict(value)


class StrictCharField(forms.CharField):
    """A CharField that refuses non-string JSON values instead of str()-ing them."""

    def to_python(self, value):
        if value is not None and not isinstance(value, str):
            raise ValidationError("Enter text.")
        return super().to_python(value)


class StrictIntegerField(forms.IntegerField):
    def to_python(self, value):
        if isinstance(value, (bool, float, list, dict)):
            raise ValidationError("Enter a whole number.")
        return super().to_python(value)


class RawCheckboxInput(forms.CheckboxInput):
    """Hands the posted value to the field untouched, so JSON's "yes" is an error, not True."""

    def value_from_datadict(self, data, files, name):
        return data.get(name)


class StrictBooleanField(forms.BooleanField):
    """HTML checkboxes post "on" or nothing; JSON must send a real boolean."""

    widget = RawCheckboxInput

    def to_python(self, value):
        if value in (None, "", "on", "true", "True", "1", "false", "False", "0", True, False):
            return super().to_python(value)
        raise ValidationError("Enter true or false.")


def max_bytes_validator(limit: int, what: str):
    def validate(value: str) -> None:
        size = len(value.encode("utf-8"))
        if size > limit:
            raise ValidationError(f"{what} is {size:,} bytes; the limit is {limit:,} bytes.", code="too_large")

    return validate


TEMPLATE_PART_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


def validate_url(value: str) -> None:
    if "\r" in value or "\n" in value:
        raise ValidationError("The URL may not contain line breaks.")
    # Spaces are fine inside {{ template }} parts (they are URL-quoted when rendered), not outside.
    literal = TEMPLATE_PART_RE.sub("x", value)
    if any(char in literal for char in "\t "):
        raise ValidationError("The URL may not contain spaces (outside {{ }} template parts).")
    if not re.match(r"^https?://", value, re.IGNORECASE):
        raise ValidationError("The URL must start with http:// or https://.")
    if literal == value:
        URLValidator(schemes=["http", "https"])(value)


def template_error(template: str) -> str | None:
    """Why `template` does not compile in the run-time sandbox, or None: caught at save, not mid-incident."""
    try:
        check_template(template)
    except TemplateSyntaxError as error:
        return f"template syntax error on line {error.lineno}: {error.message}"
    return None


def validate_url_template(value: str) -> None:
    problem = template_error(value)
    if problem:
        raise ValidationError(f"The URL has a {problem}.")


def validate_action(value: str) -> None:
    if value in SIMPLE_ACTIONS:
        return
    if value.startswith("goto:") and re.match(r"^[-a-zA-Z0-9_]+$", value[5:]):
        return
    raise ValidationError("Choose continue, stop, fail or goto:<later block key>.")


def validate_expression(value: str) -> None:
    # The run-time sandbox compiles it: its bounds hold at save too (no constant folding that
    # would build `'%30000000d' % 1` in the web process).
    try:
        check_expression(value)
    except TemplateSyntaxError as error:
        raise ValidationError(f"Expression syntax error: {error.message}") from None
