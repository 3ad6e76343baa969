"""`command` blocks: the script runs in a fresh hardened container of the run's environment.

Data between steps: the container gets earlier steps' output as files (RB_STEP_<KEY>_OUTPUT_FILE)
and a writable RB_OUTPUTS_FILE whose `name=value` lines become this step's result.values. The
runner ships one file (the script) in its stdin tar, so the script it receives is a small wrapper
that lays out these files from here-documents, runs the user's script with the block's shell, and
after it exits prints the outputs file behind a random marker on the same stream. The marker and
what follows are cut out of the output before it is stored (OutputsTap).
"""

import secrets as random_tokens

from apps.blocks.executors.base import StepContext, StepOutcome
from apps.blocks.executors.step_data import OutputsError, env_key, parse_outputs_file
from apps.core.masking.masker import Masker
from apps.sandbox.spec import ContainerSpec

DEFAULT_TIMEOUT_SECONDS = 300
DATA_DIR = "/tmp/.rb"  # noqa: S108 - the container's own tmpfs, not the host's /tmp
OUTPUTS_FILE = f"{DATA_DIR}/outputs"
# More than 100 values of 64 KiB each is refused by parse_outputs_file anyway; stop keeping bytes.
MAX_OUTPUTS_BYTES = 7 * 1024 * 1024


def _env_name(text: str) -> str:
    return "".join(char if char.isascii() and char.isalnum() else "_" for char in text).upper()


def output_file_path(key: str) -> str:
    return f"{DATA_DIR}/steps/{env_key(key)}.out"


def step_environment(ctx: StepContext) -> dict[str, str]:
    """The environment's own variables, then params (RB_PARAM_*) and earlier steps (RB_STEP_*)."""
    environment = {str(name): str(value) for name, value in (ctx.environment.get("env") or {}).items()}
    for name, value in ctx.params.items():
        environment[f"RB_PARAM_{_env_name(name)}"] = value
    for key, step in ctx.steps.items():
        prefix = f"RB_STEP_{_env_name(key)}"
        environment[f"{prefix}_STATUS"] = str(step.get("status") or "")
        if step.get("exit_code") is not None:
            environment[f"{prefix}_EXIT_CODE"] = str(step["exit_code"])
        environment[f"{prefix}_OUTPUT_FILE"] = output_file_path(key)
    environment["RB_EXECUTION_ID"] = str(ctx.execution_id)
    environment["RB_OUTPUTS_FILE"] = OUTPUTS_FILE
    return environment


def _here_document(path: str, text: str) -> str:
    """Shell that writes `text` to `path` byte for byte (head -c drops the here-document's last newline)."""
    data = text.encode("utf-8")
    end = f"RB_END_{random_tokens.token_hex(16)}"
    return f"head -c {len(data)} > '{path}' <<'{end}'\n{text}\n{end}\n"


def wrapper_script(*, script: str, shell: str, steps: dict[str, dict], marker: str) -> str:
    parts = [f"mkdir -p '{DATA_DIR}/steps'\n", f": > '{OUTPUTS_FILE}'\n"]
    for key, step in steps.items():
        parts.append(_here_document(output_file_path(key), str(step.get("output") or "")))
    parts.append(_here_document(f"{DATA_DIR}/user-script", script))
    # The marker goes on its own line; the tap removes the newline before it, so stored output is exact.
    parts.append(
        f"{shell} '{DATA_DIR}/user-script' </dev/null\n"
        "rb_status=$?\n"
        f"printf '\\n%s\\n' '{marker}'\n"
        f"cat '{OUTPUTS_FILE}'\n"
        'exit "$rb_status"\n'
    )
    return "".join(parts)


class OutputsTap:
    """Passes output through until the marker, then keeps what follows (the outputs file) aside.

    Holds back at most len(marker) - 1 characters, in case the marker is split across writes.
    """

    def __init__(self, write, marker: str):
        self.write = write
        self.marker = f"\n{marker}\n"
        self.pending = ""
        self.found = False
        self.captured: list[str] = []
        self.captured_size = 0
        self.too_large = False

    def __call__(self, text: str) -> None:
        if self.found:
            self._capture(text)
            return
        self.pending += text
        index = self.pending.find(self.marker)
        if index >= 0:
            self.found = True
            before, after = self.pending[:index], self.pending[index + len(self.marker) :]
            self.pending = ""
            self.write(before)
            self._capture(after)
            return
        keep = self._partial_suffix()
        ready, self.pending = self.pending[: len(self.pending) - keep], self.pending[len(self.pending) - keep :]
        self.write(ready)  # an empty write still lets the sink flush what it batched

    def _partial_suffix(self) -> int:
        for size in range(min(len(self.marker) - 1, len(self.pending)), 0, -1):
            if self.marker.startswith(self.pending[-size:]):
                return size
        return 0

    def _capture(self, text: str) -> None:
        if self.too_large or not text:
            return
        self.captured_size += len(text)
        if self.captured_size > MAX_OUTPUTS_BYTES:
            self.too_large, self.captured = True, []
            return
        self.captured.append(text)

    def close(self) -> None:
        if self.pending:
            self.write(self.pending)
            self.pending = ""

    def outputs(self) -> str:
        return "".join(self.captured)


def execute(ctx: StepContext) -> StepOutcome:
    if ctx.run_container is None:
        return StepOutcome(status="failed", error="No container runner was given to this command step.")
    config = ctx.block.get("config") or {}
    environment = ctx.environment
    block_timeout = int(config.get("timeout_seconds") or DEFAULT_TIMEOUT_SECONDS)
    shell = config.get("shell") if config.get("shell") in ("sh", "bash") else "sh"
    marker = f"RB_OUTPUTS_{random_tokens.token_hex(16)}"
    secrets = {credential.name: credential.secret for credential in ctx.credentials.values()}
    spec = ContainerSpec(
        image=environment["image"],
        script=wrapper_script(script=config.get("script") or "", shell=shell, steps=ctx.steps, marker=marker),
        shell=shell,
        env=step_environment(ctx),
        secrets=secrets,
        network=environment.get("network") or "none",
        memory_mb=int(environment.get("memory_mb") or 256),
        cpus=float(environment.get("cpus") or 1),
        pids_limit=int(environment.get("pids_limit") or 128),
        # The environment caps every block's own timeout.
        timeout_seconds=min(block_timeout, int(environment.get("timeout_seconds") or block_timeout)),
        labels=dict(ctx.labels),
        runtime=environment.get("runtime") or "runc",
    )
    tap = OutputsTap(ctx.output.write, marker)

    def output_ended() -> None:
        tap.close()
        ctx.output.flush()

    try:
        result = ctx.run_container(
            spec, write=tap, is_cancelled=ctx.is_cancelled, on_container=ctx.on_container, on_output_end=output_ended
        )
    finally:
        tap.close()
    outcome = StepOutcome(
        status=result.status,
        exit_code=result.exit_code,
        error=result.error,
        result={"container_id": result.container_id[:12]} if result.container_id else {},
    )
    if not tap.found:
        return outcome
    if tap.too_large:
        return _outputs_failed(outcome, f"RB_OUTPUTS_FILE is larger than {MAX_OUTPUTS_BYTES // (1024 * 1024)} MiB.")
    # Values are stored and shown like output, and so are the file's errors (they quote names):
    # the same masker, every spelling, over the whole file so a secret split across lines goes too.
    masker = Masker(list(secrets.values()))
    try:
        values = parse_outputs_file(masker.mask(tap.outputs()))
    except OutputsError as error:
        return _outputs_failed(outcome, masker.mask(f"RB_OUTPUTS_FILE: {error}"))
    if values:
        outcome.result["values"] = masker.mask_data(values)
    return outcome


def _outputs_failed(outcome: StepOutcome, message: str) -> StepOutcome:
    outcome.status = "failed"
    outcome.error = "; ".join(filter(None, [outcome.error, message]))
    return outcome
