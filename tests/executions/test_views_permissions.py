"""Every page route of issue 5 × every role: outsiders 404, too-weak roles 403, anonymous to sign-in.

A route added to these URL modules without a row here fails test_every_route_is_in_the_matrix.
"""

import pytest
from django.urls import get_resolver

from apps.executions.models import Execution, ExecutionEnvironment
from apps.executions.services import execution_start

from .conftest import command

ROLES = ("owner", "editor", "runner", "viewer", "outsider", "staff", "admin", "anonymous")
LOGIN = "login"

# (url name, method, template) → expected status per role. {runbook}, {execution}, {environment} are filled in.
MATRIX = {
    ("executions:list", "GET", "/executions/"): dict.fromkeys(ROLES[:-1], 200) | {"anonymous": LOGIN},
    ("executions:detail", "GET", "/executions/{execution}/"): {
        "owner": 200, "editor": 200, "runner": 200, "viewer": 200, "outsider": 404, "staff": 404, "admin": 200,
        "anonymous": LOGIN,
    },
    ("executions:cancel", "GET", "/executions/{execution}/cancel"): {
        "owner": 200, "editor": 200, "runner": 200, "viewer": 403, "outsider": 404, "staff": 404, "admin": 200,
        "anonymous": LOGIN,
    },
    ("executions:cancel", "POST", "/executions/{execution}/cancel"): {
        "owner": 302, "editor": 302, "runner": 302, "viewer": 403, "outsider": 404, "staff": 404, "admin": 302,
        "anonymous": LOGIN,
    },
    ("runbooks:run", "GET", "/runbooks/{runbook}/run"): {
        "owner": 200, "editor": 200, "runner": 200, "viewer": 403, "outsider": 404, "staff": 404, "admin": 200,
        "anonymous": LOGIN,
    },
    ("runbooks:run", "POST", "/runbooks/{runbook}/run"): {
        "owner": 302, "editor": 302, "runner": 302, "viewer": 403, "outsider": 404, "staff": 404, "admin": 302,
        "anonymous": LOGIN,
    },
    ("environments:list", "GET", "/environments/"): dict.fromkeys(ROLES[:-1], 200) | {"anonymous": LOGIN},
    ("environments:detail", "GET", "/environments/{environment}/"): dict.fromkeys(ROLES[:-1], 200)
    | {"anonymous": LOGIN},
    ("environments:create", "GET", "/environments/new"): dict.fromkeys(ROLES[:-1], 403)
    | {"staff": 200, "admin": 200, "anonymous": LOGIN},
    ("environments:create", "POST", "/environments/new"): dict.fromkeys(ROLES[:-1], 403)
    | {"staff": 302, "admin": 302, "anonymous": LOGIN},
    ("environments:edit", "GET", "/environments/{environment}/edit"): dict.fromkeys(ROLES[:-1], 403)
    | {"staff": 200, "admin": 200, "anonymous": LOGIN},
    ("environments:edit", "POST", "/environments/{environment}/edit"): dict.fromkeys(ROLES[:-1], 403)
    | {"staff": 302, "admin": 302, "anonymous": LOGIN},
    ("environments:delete", "GET", "/environments/{environment}/delete"): dict.fromkeys(ROLES[:-1], 403)
    | {"staff": 200, "admin": 200, "anonymous": LOGIN},
    ("environments:delete", "POST", "/environments/{environment}/delete"): dict.fromkeys(ROLES[:-1], 403)
    | {"staff": 302, "admin": 302, "anonymous": LOGIN},
    ("environments:rebuild", "POST", "/environments/{environment}/rebuild"): dict.fromkeys(ROLES[:-1], 403)
    | {"staff": 302, "admin": 302, "anonymous": LOGIN},
}  # fmt: skip

FORMS = {
    "environments:create": {"name": "new-env", "image": "alpine:3.20"},
    "environments:edit": {"name": "spare", "dockerfile": "FROM scratch\n"},
}


@pytest.fixture
def objects(cast, make_runbook):
    runbook = make_runbook(cast.owner, [command("restart", "echo hi")])
    execution = execution_start(runbook=runbook, user=cast.runner)
    spare = ExecutionEnvironment.objects.create(name="spare", dockerfile="FROM scratch\n")
    return {"runbook": runbook.pk, "execution": execution.pk, "environment": spare.pk}


CASES = [(key, role) for key in MATRIX for role in ROLES]


@pytest.mark.parametrize(("route", "role"), CASES, ids=[f"{key[0]}-{key[1]}-{role}" for key, role in CASES])
def test_route_answers_each_role(cast, client_for, objects, route, role):
    name, method, template = route
    expected = MATRIX[route][role]
    client = client_for(None if role == "anonymous" else getattr(cast, role))
    path = template.format(**objects)
    executions_before = Execution.objects.count()
    answer = client.get(path) if method == "GET" else client.post(path, FORMS.get(name, {}))
    if expected == LOGIN:
        assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")
    else:
        assert answer.status_code == expected, answer.content.decode()[:500]
    if name == "runbooks:run" and expected != 302:
        assert Execution.objects.count() == executions_before, "a refused run creates nothing"


def test_every_route_is_in_the_matrix():
    """Every route served by this issue's view modules; other modules' routes have their own matrices."""
    from django.urls import URLPattern, URLResolver

    ours = {"apps.executions.views", "apps.executions.views_environments"}
    names = {"runbooks:run"}

    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and pattern.callback.__module__ in ours:
                names.add(f"{namespace}:{pattern.name}")

    walk(get_resolver().url_patterns, None)
    covered = {key[0] for key in MATRIX}
    assert len(names) > 5
    assert names <= covered, f"routes missing from the permission matrix: {sorted(names - covered)}"
