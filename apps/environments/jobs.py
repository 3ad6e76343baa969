"""The worker's entry point for an environment image build: take an id, call one service.

apps.executions, which owns the queues, enqueues it when a service asks for a build
(apps.environments.signals).
"""

from apps.environments.models import ExecutionEnvironment
from apps.environments.services import environment_build


def build_environment(environment_id: int) -> None:
    environment = ExecutionEnvironment.objects.filter(pk=environment_id).first()
    if environment is None or not environment.dockerfile:
        return
    environment_build(environment=environment)
