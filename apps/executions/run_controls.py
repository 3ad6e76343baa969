"""What the Run controls of a runbook page offer a user: which versions, or why not at all."""

from dataclasses import dataclass, field

from apps.runbooks.models import Runbook, RunbookVersion
from apps.runbooks.roles import EDIT, RUN
from apps.runbooks.versions import runbook_latest_version

DRAFT = "draft"
# Query/form names with a hyphen can never clash with a run parameter's name (letters, digits, _).
BLOCK_FIELD = "run-block"
VERSION_FIELD = "run-version"
PARAM_PREFIX = "param-"


@dataclass
class RunControls:
    can_run: bool = False
    can_run_draft: bool = False
    latest: RunbookVersion | None = None
    disabled_reason: str = ""
    # Parameters to fill in: the Run buttons lead to the parameters form instead of starting at once.
    needs_form: bool = False
    # [(value, label)] for the version select; "" means the latest published version.
    choices: list[tuple[str, str]] = field(default_factory=list)

    @property
    def enabled(self) -> bool:
        return self.can_run and not self.disabled_reason

    @property
    def default_version(self) -> str:
        return "" if self.latest is not None else DRAFT


def run_controls_for(user, runbook: Runbook) -> RunControls:
    if not user.has_perm(RUN, runbook):
        return RunControls()
    controls = RunControls(can_run=True, can_run_draft=user.has_perm(EDIT, runbook))
    controls.latest = runbook_latest_version(runbook)
    if controls.latest is not None:
        controls.choices.append(("", f"Latest published (v{controls.latest.number})"))
    if controls.can_run_draft:
        controls.choices.append((DRAFT, "Draft (unpublished changes)"))
    if not controls.choices:
        controls.disabled_reason = "Nothing is published yet: runners can run this runbook once an editor publishes v1."
    controls.needs_form = bool(
        (controls.latest is not None and controls.latest.snapshot.get("parameters"))
        or (controls.can_run_draft and runbook.parameters)
    )
    return controls


def parameters_for(runbook: Runbook, controls: RunControls, version: str) -> list[dict]:
    """The parameters of the content that would run: the draft's or the latest published version's."""
    if version == DRAFT and controls.can_run_draft:
        return list(runbook.parameters or [])
    if controls.latest is not None:
        return list(controls.latest.snapshot.get("parameters") or [])
    return []
