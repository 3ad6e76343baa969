"""Hypothesis strategies for runbook content the services accept, in the file's terms (names).

Values are generated already in the form the services store them (stripped titles, lower-cased
tags…), so a round trip can be compared for equality without normalising anything.
"""

import re

from hypothesis import strategies as st

# Any character PostgreSQL can store: control characters, line and paragraph separators, \r too.
TEXT = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
FENCE_LINES = [
    "```", "````", "~~~", "```sh", "```sh {\"name\": \"x\"}", "  ```", "~~~~ runbooks-http", "---", "...",
    "echo `date`", "echo ``two``", "cat <<'EOF'", "EOF", "# heading", "<pre>", "    indented", "",
]  # fmt: skip


def text(min_size=0, max_size=40):
    return st.text(TEXT, min_size=min_size, max_size=max_size)


def stripped(min_size=1, max_size=40):
    return text(min_size, max_size).map(str.strip).filter(bool)


def multiline(min_lines=1, max_lines=6):
    """Lines mixing fence-like and backtick lines with arbitrary text."""
    line = st.one_of(st.sampled_from(FENCE_LINES), text(0, 30).map(lambda value: value.replace("\n", " ")))
    return st.tuples(st.lists(line, min_size=min_lines, max_size=max_lines), st.booleans()).map(
        lambda parts: "\n".join(parts[0]) + ("\n" if parts[1] else "")
    )


KEYS = st.from_regex(re.compile(r"[a-z][a-z0-9_-]{0,20}", re.ASCII), fullmatch=True)
ATTRIBUTE_NAMES = text(1, 20).filter(
    lambda name: name != "name" and not name.startswith("runbooks.") and name != "excludeFromRunAll"
)
ATTRIBUTES = st.dictionaries(ATTRIBUTE_NAMES, text(0, 20), max_size=3)
SAFE_TEMPLATE_TEXT = text(0, 30).filter(lambda value: "{" not in value and "}" not in value)
HEADER_VALUES = SAFE_TEMPLATE_TEXT.filter(lambda value: not any(char in value for char in "\r\n\x00"))
EXPRESSIONS = st.sampled_from(
    ["params.region == 'eu'", "steps.check.exit_code != 0", "'ok' in steps.probe.output", "true"]
)
ACTIONS = st.sampled_from(["continue", "stop", "fail"])


def _with_attributes(config_strategy):
    return st.tuples(config_strategy, ATTRIBUTES).map(
        lambda pair: {**pair[0], "attributes": pair[1]} if pair[1] else pair[0]
    )


def configs(kind: str, credentials: list[str]):
    credential_names = st.lists(st.sampled_from(credentials), unique=True, max_size=2) if credentials else st.just([])
    if kind == "instruction":
        config = st.fixed_dictionaries(
            {
                "markdown": st.one_of(multiline(), stripped()).map(str.strip).filter(bool),
                "gate": st.sampled_from(["none", "confirm", "approval"]),
            }
        )
    elif kind == "command":
        config = st.fixed_dictionaries(
            {
                "script": multiline().filter(lambda script: script.strip() != ""),
                "shell": st.sampled_from(["sh", "bash"]),
                "timeout_seconds": st.integers(1, 86400),
                "credentials": credential_names,
                "continue_on_error": st.booleans(),
            }
        )
    elif kind == "api_call":
        config = st.fixed_dictionaries(
            {
                "method": st.sampled_from(["GET", "POST", "DELETE"]),
                "url": st.sampled_from(
                    ["https://status.example.com/api/v2", "https://api.example.com/{{ params.region }}/health"]
                ),
                "headers": st.dictionaries(
                    st.sampled_from(["Accept", "X-Trace", "User-Agent"]), HEADER_VALUES, max_size=2
                ),
                "body": SAFE_TEMPLATE_TEXT,
                "credential": st.sampled_from([None, *credentials]),
                "expected_status": st.lists(st.integers(100, 599), min_size=1, max_size=3, unique=True),
                "timeout_seconds": st.integers(1, 300),
                "continue_on_error": st.booleans(),
            },
            optional={"follow_redirects": st.just(True)},
        )
    elif kind == "conditional":
        config = st.fixed_dictionaries({"expression": EXPRESSIONS, "on_true": ACTIONS, "on_false": ACTIONS})
    else:
        config = st.fixed_dictionaries({"seconds": st.integers(1, 86400)})
    return _with_attributes(config)


KINDS = ["instruction", "command", "api_call", "conditional", "timer"]


@st.composite
def blocks(draw, credentials: list[str]):
    keys = draw(st.lists(KEYS, unique=True, max_size=6))
    result = []
    for key in keys:
        kind = draw(st.sampled_from(KINDS))
        title = draw(st.one_of(st.just(""), stripped(1, 30)))
        result.append({"key": key, "title": title, "kind": kind, "config": draw(configs(kind, credentials))})
    return result


@st.composite
def parameters(draw):
    names = draw(
        st.lists(
            st.from_regex(re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,10}", re.ASCII), fullmatch=True),
            unique_by=str.upper,
            max_size=3,
        )
    )
    result = []
    for name in names:
        choices = draw(st.one_of(st.none(), st.lists(text(1, 10), min_size=1, max_size=3)))
        default = draw(st.sampled_from(choices) if choices else st.one_of(st.none(), text(1, 10)))
        result.append(
            {
                "name": name,
                "label": draw(st.one_of(st.just(name), text(1, 20))),
                "default": default,
                "required": draw(st.booleans()),
                "choices": choices,
            }
        )
    return result


TAG = text(1, 12).map(lambda tag: tag.strip().lower()).filter(lambda tag: tag and tag == tag.strip().lower())


@st.composite
def runbook_contents(draw, credentials: list[str] = (), environments: list[str] = ()):
    """{title, description, tags, environment, parameters, blocks} with names, as a file holds them."""
    return {
        "title": draw(stripped(1, 60)),
        "description": draw(st.one_of(st.just(""), multiline(), text(0, 60))),
        "tags": sorted(set(draw(st.lists(TAG, max_size=4)))),
        "environment": draw(st.sampled_from([None, *environments])),
        "parameters": draw(parameters()),
        "blocks": draw(blocks(list(credentials))),
    }
