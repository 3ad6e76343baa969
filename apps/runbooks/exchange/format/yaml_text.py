"""YAML as the format writes it (stable, literal blocks) and reads it (no aliases, with file lines)."""

import re

import yaml

from apps.runbooks.exchange.format.schema import FormatError, Problem


class _Dumper(yaml.SafeDumper):
    """Stable YAML: keys in the order given, multi-line text as literal blocks where YAML allows."""


# Characters YAML reads as line breaks (or drops) unless they are escaped in a double-quoted scalar.
_NEEDS_ESCAPES = re.compile("[\r\x85\u2028\u2029\ufeff\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # A NEL or line separator PyYAML would write as is in plain or single-quoted text and read back
    # as a space; elsewhere it falls back to a quoted style by itself where a literal block could
    # not carry the text exactly (trailing spaces, tabs).
    style = '"' if _NEEDS_ESCAPES.search(value) else ("|" if "\n" in value else None)
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(data) -> str:
    # A width nothing reaches: long values stay on one line, so a change is a one-line diff.
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1_000_000
    )


class _Loader(yaml.SafeLoader):
    """safe_load without aliases: `*name` can expand a small file into a huge structure."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in runbook files", event.start_mark
            )
        return super().compose_node(parent, index)


def load_yaml(text: str, first_line: int) -> tuple[object, dict[str, int], list[int]]:
    """(data, top-level key → file line, file line of each item of a top-level `parameters` list).

    `first_line` is the file line of the text's first line. Raises FormatError with the line of a
    YAML error.
    """
    try:
        # The reader refuses characters YAML cannot hold (C1 controls …) as soon as it is made.
        loader = _Loader(text)
    except yaml.YAMLError as error:
        raise FormatError([Problem(first_line, f"Invalid YAML: {error}.")]) from None
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = first_line + mark.line if mark is not None else first_line
        raise FormatError([Problem(line, f"Invalid YAML: {error.problem or error.context}.")]) from None
    except yaml.YAMLError as error:
        raise FormatError([Problem(first_line, f"Invalid YAML: {error}.")]) from None
    finally:
        loader.dispose()
    key_lines: dict[str, int] = {}
    item_lines: list[int] = []
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key_lines.setdefault(key_node.value, first_line + key_node.start_mark.line)
                if key_node.value == "parameters" and isinstance(value_node, yaml.SequenceNode):
                    item_lines = [first_line + item.start_mark.line for item in value_node.value]
    return data, key_lines, item_lines
