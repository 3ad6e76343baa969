"""A structured diff of two runbook snapshots, shaped for a side-by-side page.

Runbook fields are compared one by one; blocks are matched by key, so a block is added, removed,
moved (its place among the blocks both sides share changed) and/or changed (title, kind or config).
Text (descriptions, scripts, Markdown) and config values get difflib line diffs.
"""

import difflib
import json
from dataclasses import dataclass, field

RUNBOOK_FIELDS = ("title", "description", "tags", "environment", "parameters")
BLOCK_FIELDS = ("title", "kind")


@dataclass
class Row:
    """One line of a side-by-side diff; `tag` is equal, replace, delete or insert."""

    tag: str
    old_number: int | None
    old_text: str | None
    new_number: int | None
    new_text: str | None


@dataclass
class FieldChange:
    name: str
    rows: list[Row]


@dataclass
class BlockDiff:
    key: str
    status: str  # added, removed, changed, unchanged
    moved: bool = False
    old_position: int | None = None
    new_position: int | None = None
    kind: str = ""
    changes: list[FieldChange] = field(default_factory=list)


@dataclass
class SnapshotDiff:
    fields: list[FieldChange]
    blocks: list[BlockDiff]

    @property
    def is_empty(self) -> bool:
        return not self.fields and all(b.status == "unchanged" and not b.moved for b in self.blocks)

    @property
    def changed_blocks(self) -> list[BlockDiff]:
        return [b for b in self.blocks if b.status != "unchanged" or b.moved]


def _lines(value) -> list[str]:
    """Text as its lines; anything else as indented, key-sorted JSON so diffs are stable."""
    if value is None:
        return []
    if isinstance(value, str):
        return value.splitlines() or [""]
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).splitlines()


def side_by_side(old, new) -> list[Row]:
    old_lines, new_lines = _lines(old), _lines(new)
    rows: list[Row] = []
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for offset in range(i2 - i1):
                rows.append(
                    Row("equal", i1 + offset + 1, old_lines[i1 + offset], j1 + offset + 1, new_lines[j1 + offset])
                )
            continue
        for offset in range(max(i2 - i1, j2 - j1)):
            old_index, new_index = i1 + offset, j1 + offset
            has_old, has_new = old_index < i2, new_index < j2
            rows.append(
                Row(
                    tag if has_old and has_new else ("delete" if has_old else "insert"),
                    old_index + 1 if has_old else None,
                    old_lines[old_index] if has_old else None,
                    new_index + 1 if has_new else None,
                    new_lines[new_index] if has_new else None,
                )
            )
    return rows


def _field_change(name: str, old, new) -> FieldChange | None:
    if old == new:
        return None
    return FieldChange(name=name, rows=side_by_side(old, new))


def _block_changes(old: dict | None, new: dict | None) -> list[FieldChange]:
    old, new = old or {}, new or {}
    changes = [_field_change(name, old.get(name), new.get(name)) for name in BLOCK_FIELDS]
    old_config, new_config = old.get("config") or {}, new.get("config") or {}
    for name in sorted(set(old_config) | set(new_config)):
        changes.append(_field_change(f"config.{name}", old_config.get(name), new_config.get(name)))
    return [change for change in changes if change is not None]


def _moved_keys(old_keys: list[str], new_keys: list[str]) -> set[str]:
    """Keys on both sides whose relative order changed: those outside the longest common run."""
    common = set(old_keys) & set(new_keys)
    old_order = [key for key in old_keys if key in common]
    new_order = [key for key in new_keys if key in common]
    matcher = difflib.SequenceMatcher(a=old_order, b=new_order, autojunk=False)
    kept = {key for block in matcher.get_matching_blocks() for key in old_order[block.a : block.a + block.size]}
    return common - kept


def snapshot_diff(old: dict, new: dict) -> SnapshotDiff:
    fields = [_field_change(name, old.get(name), new.get(name)) for name in RUNBOOK_FIELDS]
    old_blocks = {block["key"]: (index, block) for index, block in enumerate(old.get("blocks", []))}
    new_blocks = {block["key"]: (index, block) for index, block in enumerate(new.get("blocks", []))}
    moved = _moved_keys(list(old_blocks), list(new_blocks))
    blocks: list[BlockDiff] = []
    for key, (index, block) in new_blocks.items():
        if key not in old_blocks:
            blocks.append(
                BlockDiff(key, "added", new_position=index, kind=block["kind"], changes=_block_changes(None, block))
            )
            continue
        old_index, old_block = old_blocks[key]
        changes = _block_changes(old_block, block)
        blocks.append(
            BlockDiff(
                key,
                "changed" if changes else "unchanged",
                moved=key in moved,
                old_position=old_index,
                new_position=index,
                kind=block["kind"],
                changes=changes,
            )
        )
    for key, (index, block) in old_blocks.items():
        if key not in new_blocks:
            blocks.append(
                BlockDiff(key, "removed", old_position=index, kind=block["kind"], changes=_block_changes(block, None))
            )
    return SnapshotDiff(fields=[change for change in fields if change is not None], blocks=blocks)
