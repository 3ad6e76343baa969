"""Writes of a runbook as a whole: create, update (any field, the block list replaced), archive."""

from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.core.errors import InvalidInput
from apps.environments.models import ExecutionEnvironment
from apps.runbooks import validation
from apps.runbooks.models import Block, Runbook
from apps.runbooks.roles import ROLES, Role
from apps.runbooks.services.blocks import blocks_check_credentials
from apps.runbooks.services.revision import bump, lock, stamp, via_marked

RUNBOOK_FIELDS = ("title", "description", "tags", "environment", "parameters", "blocks")


def _clean_environment(environment) -> ExecutionEnvironment | None:
    if environment in (None, ""):
        return None
    if isinstance(environment, ExecutionEnvironment):
        return environment
    if isinstance(environment, (bool, float)):
        raise InvalidInput({"environment": ["The environment must be an id."]})
    try:
        return ExecutionEnvironment.objects.get(pk=int(environment))
    except (ExecutionEnvironment.DoesNotExist, ValueError, TypeError):
        raise InvalidInput({"environment": [f"There is no environment with id {environment}."]}) from None


def _refuse_failed_build(environment: ExecutionEnvironment | None, *, current_id: int | None = None) -> None:
    """A runbook may not move onto an environment whose build failed: its command steps could not
    start. One already on it keeps it (a PATCH repeating the current value is not a change)."""
    if environment is not None and environment.build_status == "failed" and environment.pk != current_id:
        raise InvalidInput(
            {
                "environment": [
                    f"The environment “{environment.name}” cannot be chosen: its Dockerfile build failed. "
                    "Staff can fix the Dockerfile and rebuild it on the environments page."
                ]
            }
        )


def _clean_changes(changes: dict) -> dict:
    """Validate every given field first, so a bad one leaves nothing half-saved."""
    unknown = set(changes) - set(RUNBOOK_FIELDS)
    if unknown:
        raise InvalidInput({name: ["Unknown field."] for name in sorted(unknown)})
    cleaned, errors = {}, {}
    cleaners = {
        "title": validation.clean_title,
        "description": validation.clean_description,
        "tags": validation.clean_tags,
        "environment": _clean_environment,
        "parameters": validation.clean_parameters,
        "blocks": validation.clean_blocks,
    }
    too_large = None
    for name, value in changes.items():
        try:
            cleaned[name] = cleaners[name](value)
        except InvalidInput as error:
            errors.update(error.errors)
            if isinstance(error, validation.TooLarge):
                too_large = error
    if too_large is not None:
        raise validation.TooLarge(errors)
    if errors:
        raise InvalidInput(errors)
    return cleaned


def _replace_blocks(runbook: Runbook, blocks: list[dict], user) -> None:
    existing = {block.key: block for block in runbook.blocks.all()}
    wanted = {block["key"] for block in blocks}
    for key, block in existing.items():
        if key not in wanted:
            block._history_user = user
            block.delete()
    for position, data in enumerate(blocks):
        block = existing.get(data["key"]) or Block(runbook=runbook, key=data["key"])
        changed = block.pk is None or (block.title, block.kind, block.config, block.position) != (
            data["title"], data["kind"], data["config"], position,
        )  # fmt: skip
        if changed:
            block.title, block.kind, block.config, block.position = (
                data["title"], data["kind"], data["config"], position,
            )  # fmt: skip
            block._history_user = user
            block.save()


@transaction.atomic
def runbook_create(
    *,
    user,
    title: str,
    description: str = "",
    tags=(),
    environment=None,
    parameters=(),
    blocks=(),
    owner=None,
    via: str | None = None,
) -> Runbook:
    """`owner` (default: `user`) gets the owner role; `via` names the caller in the audit (e.g. "admin")."""
    # Raw values go to the cleaners: list("abc") would turn a bad tags string into three tags.
    cleaned = _clean_changes(
        {
            "title": title,
            "description": description,
            "tags": list(tags) if isinstance(tags, tuple) else tags,
            "environment": environment,
            "parameters": list(parameters) if isinstance(parameters, tuple) else parameters,
            "blocks": list(blocks) if isinstance(blocks, tuple) else blocks,
        }
    )
    _refuse_failed_build(cleaned["environment"])
    blocks_check_credentials(user=user, blocks=cleaned["blocks"])
    if cleaned["environment"] is None:
        cleaned["environment"] = ExecutionEnvironment.objects.filter(is_default=True).first()
    owner = owner or user
    runbook = Runbook(
        title=cleaned["title"],
        description=cleaned["description"],
        environment=cleaned["environment"],
        parameters=cleaned["parameters"],
        owner=owner,
        last_modified_by=user,
    )
    stamp(runbook, user)
    runbook.save()
    runbook.tags.set(cleaned["tags"])
    _replace_blocks(runbook, cleaned["blocks"], user)
    ROLES.set_role(runbook, owner, Role.OWNER)
    audit_record(actor=user, action="runbook.create", obj=runbook, detail=via_marked({"title": runbook.title}, via))
    return runbook


@transaction.atomic
def runbook_update(*, runbook: Runbook, user, revision, via: str | None = None, **changes) -> Runbook:
    """Apply any of title, description, tags, environment, parameters, blocks (replacing the list)."""
    cleaned = _clean_changes(changes)
    locked = lock(runbook, revision)
    if "environment" in cleaned:
        _refuse_failed_build(cleaned["environment"], current_id=locked.environment_id)
    fields = []
    for name in ("title", "description", "environment", "parameters"):
        if name in cleaned and getattr(locked, name) != cleaned[name]:
            setattr(locked, name, cleaned[name])
            fields.append(name)
    if "tags" in cleaned and sorted(locked.tags.names()) != sorted(cleaned["tags"]):
        locked.tags.set(cleaned["tags"])
        fields.append("tags")
    if "blocks" in cleaned:
        current = [
            {"key": block.key, "title": block.title, "kind": block.kind, "config": block.config}
            for block in locked.blocks.all()
        ]
        if current != cleaned["blocks"]:
            blocks_check_credentials(
                user=user, blocks=cleaned["blocks"], previous={block.key: block for block in locked.blocks.all()}
            )
            _replace_blocks(locked, cleaned["blocks"], user)
            fields.append("blocks")
    if fields:
        bump(locked, user, extra_fields=tuple(name for name in fields if name not in ("tags", "blocks")))
        detail = via_marked({"fields": fields, "revision": locked.revision}, via)
        audit_record(actor=user, action="runbook.edit", obj=locked, detail=detail)
    return locked


@transaction.atomic
def runbook_archive(*, runbook: Runbook, user) -> None:
    locked = Runbook.objects.select_for_update().get(pk=runbook.pk)
    if locked.archived_at is None:
        locked.archived_at = timezone.now()
        locked.last_modified_by = user
        locked.revision += 1
        stamp(locked, user)
        locked.save(update_fields=["archived_at", "last_modified_by", "revision", "updated_at"])
        audit_record(actor=user, action="runbook.archive", obj=locked, detail={"title": locked.title})
