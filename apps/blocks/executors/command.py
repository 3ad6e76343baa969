"""`command` blocks: the script runs in a fresh hardened container of the run's environment."""

from apps.blocks.executors.base import StepContext, StepOutcome
from apps.executions.docker_runner import ContainerSpec, run_container

DEFAULT_TIMEOUT_SECONDS = 300


def _env_name(text: str) -> str:
    return "".join(char if char.isalnum() else "_" for char in text).upper()


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
    environment["RB_EXECUTION_ID"] = str(ctx.execution_id)
    return environment


def execute(ctx: StepContext) -> StepOutcome:
    config = ctx.block.get("config") or {}
    environment = ctx.environment
    block_timeout = int(config.get("timeout_seconds") or DEFAULT_TIMEOUT_SECONDS)
    spec = ContainerSpec(
        image=environment["image"],
        script=config.get("script") or "",
        shell=config.get("shell") if config.get("shell") in ("sh", "bash") else "sh",
        env=step_environment(ctx),
        secrets={credential.name: credential.secret for credential in ctx.credentials.values()},
        network=environment.get("network") or "none",
        memory_mb=int(environment.get("memory_mb") or 256),
        cpus=float(environment.get("cpus") or 1),
        pids_limit=int(environment.get("pids_limit") or 128),
        # The environment caps every block's own timeout.
        timeout_seconds=min(block_timeout, int(environment.get("timeout_seconds") or block_timeout)),
        labels=dict(ctx.labels),
    )
    result = run_container(spec, write=ctx.output.write, is_cancelled=ctx.is_cancelled)
    return StepOutcome(
        status=result.status,
        exit_code=result.exit_code,
        error=result.error,
        result={"container_id": result.container_id[:12]} if result.container_id else {},
    )
