"""Parameters checked at start and available to every kind of step: params.* and RB_PARAM_*."""

import pytest

from apps.core.errors import InvalidInput
from apps.executions.models import Execution
from apps.executions.services.start import execution_start
from tests.support.executions import command, output_of, run_now

PARAMETERS = [
    {"name": "env", "label": "Environment", "default": "staging", "required": False, "choices": ["staging", "prod"]},
    {"name": "ticket", "label": "Ticket", "default": "", "required": True, "choices": None},
]


@pytest.fixture
def runbook(cast, make_runbook):
    return make_runbook(
        cast.owner,
        [
            {
                "key": "guard",
                "kind": "conditional",
                "config": {"expression": 'params.env == "prod"', "on_true": "continue", "on_false": "goto:report"},
            },
            command("prod_only", "echo prod"),
            command("report", 'echo "env=$RB_PARAM_ENV ticket=$RB_PARAM_TICKET"'),
        ],
        parameters=PARAMETERS,
    )


def test_the_default_applies_and_reaches_conditionals_and_commands(cast, runbook, docker_engine):
    execution = run_now(execution_start(runbook=runbook, user=cast.runner, params={"ticket": "INC-7"}))
    assert execution.params == {"env": "staging", "ticket": "INC-7"}
    assert execution.steps.get(block_key="guard").result == {"value": False, "action": "goto:report"}
    assert execution.steps.get(block_key="prod_only").status == "skipped"
    assert output_of(execution.steps.get(block_key="report")) == "env=staging ticket=INC-7\n"


def test_a_chosen_value_takes_the_other_branch(cast, runbook, docker_engine):
    execution = run_now(execution_start(runbook=runbook, user=cast.runner, params={"env": "prod", "ticket": "INC-8"}))
    assert execution.status == "succeeded", execution.error
    assert output_of(execution.steps.get(block_key="prod_only")) == "prod\n"


@pytest.mark.parametrize(
    ("params", "name", "message"),
    [
        ({}, "ticket", "This parameter is required."),
        ({"ticket": "x", "env": "dev"}, "env", "Choose one of: staging, prod."),
        ({"ticket": "x", "region": "eu"}, "region", "This runbook has no such parameter."),
    ],
)
def test_bad_params_are_refused_before_anything_is_created(cast, runbook, params, name, message):
    with pytest.raises(InvalidInput) as raised:
        execution_start(runbook=runbook, user=cast.runner, params=params)
    assert raised.value.errors["params"][name] == [message]
    assert not Execution.objects.exists()
