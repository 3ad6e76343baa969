"""Writes of one block at a time (add, change, delete, reorder), and the credential rule that every
change to a block's kind or config passes, whether one block or the whole list changes."""

from django.db import transaction

from apps.audit.services import audit_record
from apps.blocks.kinds import BlockKind, ConfigError, validate_config
from apps.core.errors import InvalidInput
from apps.credentials.selectors import credential_ids_of_config
from apps.credentials.services import credentials_check_attachable, credentials_check_changeable
from apps.runbooks import validation
from apps.runbooks.models import Block, Runbook
from apps.runbooks.services.revision import bump, lock, via_marked


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
    locked = lock(runbook, revision)
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
    bump(locked, user)
    audit_record(
        actor=user, action="runbook.edit", obj=locked, detail={"block_added": key, "revision": locked.revision}
    )
    runbook.revision = locked.revision
    return block


@transaction.atomic
def block_update(*, block: Block, user, revision, key: str, title: str, config, via: str | None = None) -> Block:
    locked = lock(block.runbook, revision)
    key, title, config = _clean_block_input(block.kind, key, title, config)
    _check_block_credentials(user, key, block.kind, config, previous=block)
    _check_key_free(locked, key, exclude_pk=block.pk)
    if (block.key, block.title, block.config) != (key, title, config):
        block.key, block.title, block.config = key, title, config
        block._history_user = user
        block.save()
        _recheck_blocks(locked)
        bump(locked, user)
        detail = via_marked({"block_changed": key, "revision": locked.revision}, via)
        audit_record(actor=user, action="runbook.edit", obj=locked, detail=detail)
    block.runbook.revision = locked.revision
    return block


@transaction.atomic
def block_delete(*, block: Block, user, revision) -> None:
    locked = lock(block.runbook, revision)
    key = block.key
    block._history_user = user
    block.delete()
    for position, remaining in enumerate(locked.blocks.order_by("position", "pk")):
        if remaining.position != position:
            Block.objects.filter(pk=remaining.pk).update(position=position)
    _recheck_blocks(locked)
    bump(locked, user)
    audit_record(
        actor=user, action="runbook.edit", obj=locked, detail={"block_deleted": key, "revision": locked.revision}
    )
    block.runbook.revision = locked.revision


@transaction.atomic
def blocks_reorder(*, runbook: Runbook, user, revision, keys: list[str]) -> None:
    locked = lock(runbook, revision)
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
        bump(locked, user)
        audit_record(actor=user, action="runbook.edit", obj=locked, detail={"order": keys, "revision": locked.revision})
    runbook.revision = locked.revision


def block_move(*, block: Block, user, revision, offset: int) -> None:
    """The keyboard alternative to drag and drop: move one place up (-1) or down (+1)."""
    keys = list(block.runbook.blocks.order_by("position", "pk").values_list("key", flat=True))
    index = keys.index(block.key)
    target = max(0, min(len(keys) - 1, index + offset))
    keys.insert(target, keys.pop(index))
    blocks_reorder(runbook=block.runbook, user=user, revision=revision, keys=keys)
