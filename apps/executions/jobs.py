"""RQ entry points: they take an execution id and hand it to the engine.

apps.executions.queue enqueues them by their dotted path (queue.RUN_JOB, queue.RESUME_JOB).
"""

from apps.executions.engine.run import execution_resume, execution_run


def run_execution(execution_id: int) -> None:
    execution_run(execution_id=execution_id)


def resume_execution(execution_id: int) -> None:
    """Continue a waiting run after its gate was passed, its timer ran out, or a step was skipped.

    Generic on purpose: whoever resolves the wait marks the waiting step (succeeded/skipped) and
    enqueues this; a step still waiting for a decision puts the run back to waiting.
    """
    execution_resume(execution_id=execution_id)
