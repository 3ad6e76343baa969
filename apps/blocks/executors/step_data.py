"""Data between steps for command containers (the command executor wires these in).

Earlier steps arrive as environment variables (RB_STEP_<KEY>_EXIT_CODE, RB_STEP_<KEY>_STATUS);
a step publishes values for later ones by writing `name=value` lines to the file named by
RB_OUTPUTS_FILE, which land in `steps.<key>.result.values`.
"""

import re

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_VALUES = 100
MAX_VALUE_BYTES = 64 * 1024


class OutputsError(Exception):
    """An outputs file that breaks the format; `problems` lists each bad line with its number."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def env_key(key: str) -> str:
    """A block key as it appears in variable names: upper case, anything but [A-Z0-9_] as _."""
    return re.sub(r"[^A-Z0-9_]", "_", key.upper())


def step_env(steps: dict[str, dict]) -> dict[str, str]:
    env = {}
    for key, step in steps.items():
        name = env_key(key)
        env[f"RB_STEP_{name}_STATUS"] = str(step.get("status") or "")
        # Steps without a process (API calls, timers, skipped ones) have no exit code: no variable,
        # so `${RB_STEP_X_EXIT_CODE:-none}` can tell "no code" from a real one.
        if step.get("exit_code") is not None:
            env[f"RB_STEP_{name}_EXIT_CODE"] = str(step["exit_code"])
    return env


def parse_outputs_file(text: str) -> dict[str, str]:
    """`name=value` lines → {name: value}; blank lines are skipped, a later name wins.

    Raises OutputsError naming every bad line, so the step fails with one complete report.
    """
    values: dict[str, str] = {}
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, separator, value = line.partition("=")
        if not separator:
            problems.append(f"line {number}: expected name=value")
            continue
        if not NAME_RE.match(name):
            problems.append(f"line {number}: {name[:40]!r} is not a valid name (letters, digits, _; not a digit first)")
            continue
        size = len(value.encode("utf-8"))
        if size > MAX_VALUE_BYTES:
            problems.append(f"line {number}: the value of {name} is {size:,} bytes; the limit is {MAX_VALUE_BYTES:,}")
            continue
        values[name] = value
    if len(values) > MAX_VALUES:
        problems.append(f"{len(values)} values; at most {MAX_VALUES} may be published")
    if problems:
        raise OutputsError(problems)
    return values
