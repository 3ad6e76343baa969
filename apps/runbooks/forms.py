"""Forms of the authoring pages.

They render widgets and hold what the user typed; the services decide validity (one rule set for
pages, API and admin) and the views place the services' field errors next to these widgets.
"""

import re
import secrets

from django import forms
from django.db.models import Q
from django.urls import reverse

from apps.blocks.kinds import KIND_FORMS, KindForm, default_config
from apps.credentials.models import Credential
from apps.credentials.selectors import credentials_visible_to
from apps.environments.models import ExecutionEnvironment
from apps.runbooks.models import Block, Runbook

PARAMETER_FIELDS = ("name", "label", "default", "required", "choices")
PARAMETER_NAME_KEY_RE = re.compile(r"^param-([A-Za-z0-9]+)-name$")


FAILED_BUILD_NOTE = "its Dockerfile build failed; command steps cannot run until staff rebuild it"


class EnvironmentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, environment: ExecutionEnvironment) -> str:
        if environment.build_status == "failed":
            return f"{environment.name} — {FAILED_BUILD_NOTE}"
        return environment.name


class RunbookForm(forms.Form):
    title = forms.CharField(
        help_text="What the on-call engineer is trying to do, e.g. “Fail over the primary database”.",
    )
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text="Markdown: when to use this runbook, impact, links to dashboards. Preview appears below.",
    )
    tags = forms.CharField(
        required=False,
        help_text="Comma-separated, e.g. “payments, database”. Tags are lower-cased.",
    )
    environment = EnvironmentChoiceField(
        queryset=ExecutionEnvironment.objects.order_by("name"),
        required=False,
        empty_label="(platform default)",
        help_text="The container image and limits command blocks run in.",
    )
    revision = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, with_revision: bool = False, runbook: Runbook | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_revision:
            del self.fields["revision"]
        # A failed build is not offered (the service refuses it too); a runbook already on one
        # keeps it in the list, labelled with why, rather than silently showing another choice.
        current_id = runbook.environment_id if runbook is not None else None
        self.fields["environment"].queryset = ExecutionEnvironment.objects.exclude(
            Q(build_status="failed") & ~Q(pk=current_id)
        ).order_by("name")

    @classmethod
    def initial_for(cls, runbook: Runbook) -> dict:
        return {
            "title": runbook.title,
            "description": runbook.description,
            "tags": ", ".join(sorted(runbook.tags.names())),
            "environment": runbook.environment_id,
            "revision": runbook.revision,
        }


class ParameterRow:
    """One editable row of run parameters: raw strings as typed, plus its errors."""

    def __init__(self, row_id: str | None = None, values: dict | None = None, errors: dict | None = None):
        self.row_id = row_id or secrets.token_hex(4)
        self.values = values or {"name": "", "label": "", "default": "", "required": False, "choices": ""}
        self.errors = errors or {}

    @classmethod
    def from_parameter(cls, parameter: dict) -> "ParameterRow":
        return cls(
            values={
                "name": parameter.get("name") or "",
                "label": parameter.get("label") or "",
                "default": parameter.get("default") or "",
                "required": bool(parameter.get("required")),
                "choices": ", ".join(parameter.get("choices") or []),
            }
        )

    def is_blank(self) -> bool:
        return not any(str(self.values[name]).strip() for name in ("name", "label", "default", "choices"))

    def as_parameter(self) -> dict:
        choices = [choice.strip() for choice in self.values["choices"].split(",") if choice.strip()]
        return {
            "name": self.values["name"].strip(),
            "label": self.values["label"].strip() or self.values["name"].strip(),
            "default": self.values["default"],
            "required": self.values["required"],
            "choices": choices or None,
        }


def parameter_rows_from_post(data) -> list[ParameterRow]:
    """Rows in the order the browser sent them (form order = screen order), removed rows skipped."""
    rows = []
    for key in data:
        match = PARAMETER_NAME_KEY_RE.match(key)
        if not match:
            continue
        row_id = match.group(1)
        if data.get(f"param-{row_id}-remove"):
            continue
        rows.append(
            ParameterRow(
                row_id,
                {
                    "name": data.get(f"param-{row_id}-name", ""),
                    "label": data.get(f"param-{row_id}-label", ""),
                    "default": data.get(f"param-{row_id}-default", ""),
                    "required": bool(data.get(f"param-{row_id}-required")),
                    "choices": data.get(f"param-{row_id}-choices", ""),
                },
            )
        )
    return rows


class BlockMetaForm(forms.Form):
    key = forms.CharField(
        help_text="Short id, unique in this runbook (letters, digits, - and _); later steps refer to it.",
    )
    title = forms.CharField(required=False, help_text="Optional heading shown to the operator.")


# Help next to the kind forms' fields (the kinds module defines the schema, not the wording).
KIND_FIELD_HELP = {
    "markdown": "Markdown shown to the operator at this step.",
    "gate": "Whether the run waits here for a confirmation or another person's approval.",
    "script": "Runs in a fresh container of the runbook's environment. A parameter NAME arrives as the "
    "environment variable $RB_PARAM_NAME (not $NAME); an earlier step's output is the file "
    "$RB_STEP_<KEY>_OUTPUT_FILE.",
    "shell": "The shell that runs the script.",
    "timeout_seconds": "The step fails when it runs longer than this.",
    "credentials": "Mounted as files under /run/secrets/<name>, with RB_SECRET_<NAME>_FILE naming each; "
    "masked in the output. Only credentials shared with you are listed.",
    "continue_on_error": "Carry on with the next block when this one fails.",
    "method": "HTTP method.",
    "url": "http:// or https:// URL; {{ params.NAME }} and {{ steps.KEY.result }} are filled in at run time.",
    "headers": "One “Name: value” per line.",
    "body": "Request body, sent as typed.",
    "credential": "Sent as a Bearer token, basic auth or its header, by the credential's kind (optional).",
    "expected_status": "Statuses that count as success, comma-separated, e.g. “200, 204”.",
    "follow_redirects": "Follow up to 3 redirects, each checked like the first URL.",
    "expression": "A Jinja expression over params and steps, e.g. steps.check.exit_code == 0.",
    "on_true": "continue, stop, fail or goto:KEY (a later block).",
    "on_false": "continue, stop, fail or goto:KEY (a later block).",
    "seconds": "How long to wait, 1 to 86400.",
}


KIND_FIELD_LABELS = {
    "url": "URL",
    "timeout_seconds": "Timeout (seconds)",
    "seconds": "Wait (seconds)",
    "expected_status": "Expected statuses",
    "on_true": "When true",
    "on_false": "When false",
}


def credential_choices(user, attached: list[int]) -> list[tuple[int, str]]:
    """Credentials the user may attach, plus those already attached (by others), by name."""
    usable = list(credentials_visible_to(user).values_list("pk", "name", "kind")) if user is not None else []
    known = {pk for pk, _, _ in usable}
    # Someone else's attachment stays selectable, so saving other fields does not drop it.
    kept = Credential.objects.filter(pk__in=[pk for pk in attached if pk not in known]).values_list(
        "pk", "name", "kind"
    )
    return [(pk, f"{name} ({kind})") for pk, name, kind in sorted([*usable, *kept], key=lambda row: row[1])]


def _attached_ids(config: dict) -> list[int]:
    ids = config.get("credentials") or []
    if config.get("credential"):
        ids = [*ids, config["credential"]]
    return [pk for pk in ids if isinstance(pk, int)]


def block_forms(
    *, kind: str, prefix: str, block: Block | None = None, data=None, user=None
) -> tuple[BlockMetaForm, KindForm]:
    """The key/title form and the kind's config form of one block, sharing a prefix."""
    config = block.config if block is not None else default_config(kind)
    # The kind fields' prepare_value turns lists back into the "1, 2" text they parse.
    initial = dict(config)
    meta_initial = {"key": block.key, "title": block.title} if block is not None else {}
    meta = BlockMetaForm(data=data, prefix=prefix, initial=meta_initial)
    kind_form = KIND_FORMS[kind](data=data, prefix=prefix, initial=initial)
    for name, field in kind_form.fields.items():
        field.help_text = field.help_text or KIND_FIELD_HELP.get(name, "")
        field.label = KIND_FIELD_LABELS.get(name, field.label)
    if {"credentials", "credential"} & set(kind_form.fields):
        # Operators pick credentials by name; the form still posts the ids the schema validates.
        choices = credential_choices(user, _attached_ids(config))
        if "credentials" in kind_form.fields:
            kind_form.fields["credentials"].widget = forms.SelectMultiple(choices=choices, attrs={"size": 4})
        if "credential" in kind_form.fields:
            kind_form.fields["credential"].widget = forms.Select(choices=[("", "— none —"), *choices])
    if "markdown" in kind_form.fields:
        # Live preview of an instruction, the same sanitised rendering the runbook page uses.
        kind_form.fields["markdown"].widget.attrs.update(
            {
                "hx-post": f"{reverse('runbooks:preview')}?field={prefix}-markdown",
                "hx-trigger": "input changed delay:400ms",
                "hx-target": f"#{prefix}-markdown-preview",
                "hx-swap": "innerHTML",
                "hx-include": "this",
                "hx-sync": "this:replace",
            }
        )
    if block is None:
        meta.fields["key"].required = False
        meta.fields["key"].help_text += f" Leave empty to get one like “{kind.replace('_', '-')}-1”."
    return meta, kind_form
