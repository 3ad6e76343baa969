"""Block kinds and their config schemas.

One Django form per kind is the single definition of a kind's config: the HTML editor renders it
and shows its errors in place, the API feeds it the JSON `config` and answers its errors as a 400.
Their fields and validators (apps.blocks.fields) accept both the API's native JSON values and the
strings an HTML form posts.
"""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from apps.blocks.fields import (
    HeadersField,
    IdListField,
    StatusListField,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    max_bytes_validator,
    template_error,
    validate_action,
    validate_expression,
    validate_url,
    validate_url_template,
)


class BlockKind(models.TextChoices):
    INSTRUCTION = "instruction", "Instruction"
    COMMAND = "command", "Command"
    API_CALL = "api_call", "API call"
    CONDITIONAL = "conditional", "Conditional"
    TIMER = "timer", "Timer"


HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
MAX_BODY_BYTES = 1024 * 1024


class ConfigError(Exception):
    """A block config that breaks its kind's schema; `errors` maps field names to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


# Attributes of a block's Markdown fence that no field stands for (Runme's `interactive`, …): kept in
# the config under this key, only when there are some, so a file's unknown attributes survive an
# import and the next export (apps.runbooks.exchange, docs/runbook-format.md).
ATTRIBUTES = "attributes"
MAX_ATTRIBUTES = 32


def clean_attributes(value) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConfigError({ATTRIBUTES: ["Attributes must be an object of names to text values."]})
    if len(value) > MAX_ATTRIBUTES:
        raise ConfigError({ATTRIBUTES: [f"At most {MAX_ATTRIBUTES} attributes."]})
    for name, item in value.items():
        if not isinstance(name, str) or not 0 < len(name) <= 100 or not isinstance(item, str) or len(item) > 2000:
            raise ConfigError({ATTRIBUTES: ["Each attribute is a name of 1 to 100 characters and a text value."]})
        # These are the format's own (the block's key, title and fields): one place for each.
        if name == "name" or name.startswith("runbooks."):
            raise ConfigError({ATTRIBUTES: [f"“{name}” is not a free attribute: it is part of the block itself."]})
    return dict(value)


class KindForm(forms.Form):
    """Base of the per-kind forms. Unknown keys in a JSON config are errors, not silently dropped."""

    # Fields whose initial value only pre-fills the HTML form: omitting them in JSON is an error.
    no_default: tuple[str, ...] = ()

    def config(self) -> dict:
        config = {name: self.cleaned_data[name] for name in self.fields}
        # Not a form field: the HTML editor carries a block's attributes over from the config it
        # edits (its initial), so saving the form does not drop them.
        if self.initial.get(ATTRIBUTES):
            config[ATTRIBUTES] = self.initial[ATTRIBUTES]
        return config


class InstructionConfigForm(KindForm):
    markdown = StrictCharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        validators=[max_bytes_validator(settings.RUNBOOKS_MAX_DESCRIPTION_BYTES, "The Markdown")],
    )
    gate = forms.ChoiceField(
        choices=[("none", "No gate"), ("confirm", "Confirm to continue"), ("approval", "Approval by another person")],
        initial="none",
    )


class CommandConfigForm(KindForm):
    script = StrictCharField(
        widget=forms.Textarea(attrs={"rows": 8, "class": "mono", "spellcheck": "false"}),
        strip=False,
        validators=[max_bytes_validator(settings.RUNBOOKS_MAX_SCRIPT_BYTES, "The script")],
    )
    shell = forms.ChoiceField(choices=[("sh", "sh"), ("bash", "bash")], initial="sh")
    timeout_seconds = StrictIntegerField(min_value=1, max_value=86400, initial=300)
    credentials = IdListField(required=False, initial=list)
    continue_on_error = StrictBooleanField(required=False, initial=False)

    def clean_script(self):
        script = self.cleaned_data["script"]
        if not script.strip():
            raise ValidationError("The script is empty.", code="required")
        return script


class ApiCallConfigForm(KindForm):
    method = forms.ChoiceField(choices=[(method, method) for method in HTTP_METHODS], initial="GET")
    url = StrictCharField(max_length=2048, validators=[validate_url_template, validate_url])
    headers = HeadersField(required=False, initial=dict)
    body = StrictCharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "class": "mono"}),
        validators=[max_bytes_validator(MAX_BODY_BYTES, "The body")],
    )
    credential = StrictIntegerField(required=False, min_value=1)
    expected_status = StatusListField(initial=[200])
    timeout_seconds = StrictIntegerField(min_value=1, max_value=300, initial=30)
    continue_on_error = StrictBooleanField(required=False, initial=False)
    follow_redirects = StrictBooleanField(
        required=False, initial=False, help_text="Follow up to 3 redirects, each checked like the first URL."
    )

    def clean_credential(self):
        return self.cleaned_data.get("credential") or None

    def clean_headers(self):
        headers = self.cleaned_data["headers"]
        for name, value in headers.items():
            problem = template_error(value)
            if problem:
                raise ValidationError(f"The value of {name} has a {problem}.")
        return headers

    def clean_body(self):
        body = self.cleaned_data["body"]
        problem = template_error(body)
        if problem:
            raise ValidationError(f"The body has a {problem}.")
        return body

    def config(self) -> dict:
        config = super().config()
        # Off is the default and is left out, so configs saved before the option existed and
        # those saved after hash and diff the same; only an opt-in shows up.
        if not config["follow_redirects"]:
            del config["follow_redirects"]
        return config


class ConditionalConfigForm(KindForm):
    expression = StrictCharField(max_length=2000, validators=[validate_expression])
    on_true = StrictCharField(max_length=80, initial="continue", validators=[validate_action])
    on_false = StrictCharField(max_length=80, initial="stop", validators=[validate_action])


class TimerConfigForm(KindForm):
    no_default = ("seconds",)
    seconds = StrictIntegerField(min_value=1, max_value=86400, initial=60)


KIND_FORMS: dict[str, type[KindForm]] = {
    BlockKind.INSTRUCTION: InstructionConfigForm,
    BlockKind.COMMAND: CommandConfigForm,
    BlockKind.API_CALL: ApiCallConfigForm,
    BlockKind.CONDITIONAL: ConditionalConfigForm,
    BlockKind.TIMER: TimerConfigForm,
}


def default_config(kind: str) -> dict:
    """The config a new block of this kind starts with (required text fields left empty)."""
    form_class = KIND_FORMS[kind]
    config = {}
    for name, field in form_class.base_fields.items():
        initial = field.initial() if callable(field.initial) else field.initial
        config[name] = initial if initial is not None else ("" if isinstance(field, forms.CharField) else None)
    return config


def validate_config(kind: str, config) -> dict:
    """Return the normalised config of a block, or raise ConfigError with field errors."""
    if kind not in KIND_FORMS:
        raise ConfigError({"kind": [f"Unknown block kind “{kind}”. Choose one of: {', '.join(KIND_FORMS)}."]})
    if not isinstance(config, dict):
        raise ConfigError({"config": ["The config must be an object."]})
    form_class = KIND_FORMS[kind]
    attributes = clean_attributes(config[ATTRIBUTES]) if ATTRIBUTES in config else {}
    config = {name: value for name, value in config.items() if name != ATTRIBUTES}
    unknown = sorted(set(config) - set(form_class.base_fields))
    if unknown:
        raise ConfigError({name: [f"Unknown field for a {kind} block."] for name in unknown})
    data = {}
    for name, field in form_class.base_fields.items():
        if name in config:
            data[name] = config[name]
        elif name not in form_class.no_default:
            # Omitted fields take their documented default (timeout 300, shell sh, …).
            initial = field.initial() if callable(field.initial) else field.initial
            if initial is not None:
                data[name] = initial
    form = form_class(data=data)
    if not form.is_valid():
        raise ConfigError({name: [str(message) for message in messages] for name, messages in form.errors.items()})
    # Left out when empty, so configs saved before attributes existed hash and diff the same.
    return {**form.config(), ATTRIBUTES: attributes} if attributes else form.config()
