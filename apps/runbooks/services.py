"""Writes of runbooks, their blocks and roles. Pages, the API and the admin all call these."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.blocks.kinds import BlockKind, ConfigError, validate_config
from apps.core.errors import InvalidInput, StaleRevision
from apps.core.object_roles import parse_principal, principal_label  # noqa: F401 - parse_principal is part of this module's API
from apps.credentials.selectors import credential_ids_of_config
from apps.credentials.services import credentials_check_attachable, credentials_check_changeable
from apps.executions.models import ExecutionEnvironment
from apps.runbooks import validation
from apps.runbooks.models import Block, Runbook
from apps.runbooks.roles import ROLES, Role

User = get_user_model()
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


def _stamp(runbook: Runbook, user) -> None:
    runbook._history_user = user


def _lock(runbook: Runbook, revision) -> Runbook:
    """Lock the runbook row and refuse a save based on an older revision (call inside atomic())."""
    # of=("self",): PostgreSQL refuses FOR UPDATE on the nullable side of the outer join.
    locked = Runbook.objects.select_for_update(of=("self",)).select_related("last_modified_by").get(pk=runbook.pk)
    try:
        revision = int(revision)
    except (TypeError, ValueError):
        raise InvalidInput({"revision": ["The revision you edited is required."]}) from None
    if locked.revision != revision:
        raise StaleRevision(
            current_revision=locked.revision,
            changed_by=locked.last_modified_by.get_username() if locked.last_modified_by else None,
            changed_at=locked.updated_at,
        )
    return locked


def _bump(runbook: Runbook, user, *, extra_fields: tuple = ()) -> None:
    runbook.revision += 1
    runbook.last_modified_by = user
    _stamp(runbook, user)
    runbook.save(update_fields=["revision", "last_modified_by", "updated_at", *extra_fields])


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


def blocks_check_credentials(*, user, blocks: list[dict], previous: dict[str, Block] | None = None) -> None:
    """The credential rule (DESIGN.md "Roles"): adding a credential to a block, and any change to the
    kind or config of a block that carries one, takes the `user` role on every credential the block
    then carries. Without it an editor could keep a credential id and point the script or the URL
    somewhere else, and so read a secret they hold no role on. Blocks left as they were (same kind
    and config) are not re-checked, so an editor can still retitle, move or remove them."""
    errors, failed = [], False
    for data in blocks:
        before = (previous or {}).get(data["key"])
        if before is not None and (before.kind, before.config) == (data["kind"], data["config"]):
            errors.append({})
            continue
        carried = credential_ids_of_config(before.kind, before.config) if before is not None else set()
        wanted = credential_ids_of_config(data["kind"], data["config"])
        try:
            credentials_check_attachable(user=user, credential_ids=wanted - carried)
            credentials_check_changeable(user=user, credential_ids=wanted & carried, block_key=data["key"])
            errors.append({})
        except InvalidInput as error:
            field = "credential" if data["kind"] == BlockKind.API_CALL else "credentials"
            errors.append({"config": {field: error.errors["credentials"]}})
            failed = True
    if failed:
        raise InvalidInput({"blocks": errors})


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
) -> Runbook:
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
    runbook = Runbook(
        title=cleaned["title"],
        description=cleaned["description"],
        environment=cleaned["environment"],
        parameters=cleaned["parameters"],
        owner=user,
        last_modified_by=user,
    )
    _stamp(runbook, user)
    runbook.save()
    runbook.tags.set(cleaned["tags"])
    _replace_blocks(runbook, cleaned["blocks"], user)
    ROLES.set_role(runbook, user, Role.OWNER)
    audit_record(actor=user, action="runbook.create", obj=runbook, detail={"title": runbook.title})
    return runbook


@transaction.atomic
def runbook_update(*, runbook: Runbook, user, revision, **changes) -> Runbook:
    """Apply any of title, description, tags, environment, parameters, blocks (replacing the list)."""
    cleaned = _clean_changes(changes)
    locked = _lock(runbook, revision)
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
        _bump(locked, user, extra_fields=tuple(name for name in fields if name not in ("tags", "blocks")))
        audit_record(
            actor=user, action="runbook.edit", obj=locked, detail={"fields": fields, "revision": locked.revision}
        )
    return locked


@transaction.atomic
def runbook_archive(*, runbook: Runbook, user) -> None:
    locked = Runbook.objects.select_for_update().get(pk=runbook.pk)
    if locked.archived_at is None:
        locked.archived_at = timezone.now()
        locked.last_modified_by = user
        locked.revision += 1
        _stamp(locked, user)
        locked.save(update_fields=["archived_at", "last_modified_by", "revision", "updated_at"])
        audit_record(actor=user, action="runbook.archive", obj=locked, detail={"title": locked.title})


def _next_key(runbook: Runbook, kind: str) -> str:
    taken = set(runbook.blocks.values_list("key", flat=True))
    base = kind.replace("_", "-")
    number = 1
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def _check_key_free(runbook: Runbook, key: str, *, exclude_pk=None) -> None:
    clashes = runbook.blocks.filter(key=key)
    if exclude_pk:
        clashes = clashes.exclude(pk=exclude_pk)
    if clashes.exists():
        raise InvalidInput({"key": [f"The key “{key}” is used by another block."]})


def _clean_block_input(kind: str, key: str, title: str, config) -> tuple[str, str, dict]:
    errors = {}
    try:
        key = validation.clean_block_key(key)
    except InvalidInput as error:
        errors.update(error.errors)
    if not isinstance(title, str) or len(title) > 200:
        errors["title"] = ["The title must be text under 200 characters."]
    try:
        config = validate_config(kind, config)
    except ConfigError as error:
        errors.update(error.errors)
    if errors:
        raise InvalidInput(errors)
    return key, title.strip(), config


def _recheck_blocks(runbook: Runbook) -> None:
    """Whole-list rules (forward gotos) after a single-block change; raising rolls it back."""
    validation.check_gotos(
        [{"key": b.key, "kind": b.kind, "config": b.config} for b in runbook.blocks.order_by("position", "pk")]
    )


def _check_block_credentials(user, key: str, kind: str, config: dict, previous: Block | None = None) -> None:
    """The single-block form of blocks_check_credentials, with the error on the config field itself."""
    try:
        blocks_check_credentials(
            user=user,
            blocks=[{"key": key, "kind": kind, "config": config}],
            previous={key: previous} if previous else None,
        )
    except InvalidInput as error:
        raise InvalidInput(error.errors["blocks"][0]["config"]) from None


@transaction.atomic
def block_create(*, runbook: Runbook, user, revision, kind: str, key: str = "", title: str = "", config=None) -> Block:
    if kind not in BlockKind.values:
        raise InvalidInput({"kind": [f"Unknown block kind “{kind}”."]})
    locked = _lock(runbook, revision)
    key = key or _next_key(locked, kind)
    key, title, config = _clean_block_input(kind, key, title, config or {})
    _check_block_credentials(user, key, kind, config)
    _check_key_free(locked, key)
    count = locked.blocks.count()
    limit = validation.settings.RUNBOOKS_MAX_BLOCKS
    if count >= limit:
        raise validation.TooLarge({"blocks": [f"A runbook has at most {limit} blocks."]})
    block = Block(runbook=locked, key=key, title=title, kind=kind, config=config, position=count)
    block._history_user = user
    block.save()
    _recheck_blocks(locked)
    _bump(locked, user)
    audit_record(
        actor=user, action="runbook.edit", obj=locked, detail={"block_added": key, "revision": locked.revision}
    )
    runbook.revision = locked.revision
    return block


@transaction.atomic
def block_update(*, block: Block, user, revision, key: str, title: str, config) -> Block:
    locked = _lock(block.runbook, revision)
    key, title, config = _clean_block_input(block.kind, key, title, config)
    _check_block_credentials(user, key, block.kind, config, previous=block)
    _check_key_free(locked, key, exclude_pk=block.pk)
    if (block.key, block.title, block.config) != (key, title, config):
        block.key, block.title, block.config = key, title, config
        block._history_user = user
        block.save()
        _recheck_blocks(locked)
        _bump(locked, user)
        audit_record(
            actor=user, action="runbook.edit", obj=locked, detail={"block_changed": key, "revision": locked.revision}
        )
    block.runbook.revision = locked.revision
    return block


@transaction.atomic
def block_delete(*, block: Block, user, revision) -> None:
    locked = _lock(block.runbook, revision)
    key = block.key
    block._history_user = user
    block.delete()
    for position, remaining in enumerate(locked.blocks.order_by("position", "pk")):
        if remaining.position != position:
            Block.objects.filter(pk=remaining.pk).update(position=position)
    _recheck_blocks(locked)
    _bump(locked, user)
    audit_record(
        actor=user, action="runbook.edit", obj=locked, detail={"block_deleted": key, "revision": locked.revision}
    )
    block.runbook.revision = locked.revision


@transaction.atomic
def blocks_reorder(*, runbook: Runbook, user, revision, keys: list[str]) -> None:
    locked = _lock(runbook, revision)
    blocks = {block.key: block for block in locked.blocks.all()}
    if sorted(keys) != sorted(blocks):
        raise InvalidInput({"order": ["The new order must name every block of the runbook exactly once."]})
    changed = False
    for position, key in enumerate(keys):
        block = blocks[key]
        if block.position != position:
            block.position = position
            block._history_user = user
            block.save(update_fields=["position"])
            changed = True
    if changed:
        _recheck_blocks(locked)
        _bump(locked, user)
        audit_record(actor=user, action="runbook.edit", obj=locked, detail={"order": keys, "revision": locked.revision})
    runbook.revision = locked.revision


def block_move(*, block: Block, user, revision, offset: int) -> None:
    """The keyboard alternative to drag and drop: move one place up (-1) or down (+1)."""
    keys = list(block.runbook.blocks.order_by("position", "pk").values_list("key", flat=True))
    index = keys.index(block.key)
    target = max(0, min(len(keys) - 1, index + offset))
    keys.insert(target, keys.pop(index))
    blocks_reorder(runbook=block.runbook, user=user, revision=revision, keys=keys)


@transaction.atomic
def runbook_grant(*, runbook: Runbook, actor, principal, role: str | None) -> None:
    """Give `principal` (User or Group) exactly `role` on the runbook; None revokes every role."""
    previous = ROLES.grant(runbook, principal, role)
    if previous != role:
        audit_record(
            actor=actor, action="role.revoke" if role is None else "role.grant", obj=runbook,
            detail={"principal": principal_label(principal), "role": role, "previous": previous},
        )  # fmt: skip


@transaction.atomic
def runbook_set_access(*, runbook: Runbook, actor, entries) -> list[dict]:
    """Replace every grant with `entries` ([{principal, role}]); at least one owner must remain."""
    ROLES.replace_access(
        runbook,
        entries,
        lambda principal, role: runbook_grant(runbook=runbook, actor=actor, principal=principal, role=role),
    )
    return ROLES.access_entries(runbook)
