"""REST API for executions: thin callers of the execution services and selectors.

Access always goes through execution_for_user / runbook_for_user (404 outsiders, 403 too weak).
"""

from collections import defaultdict

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.errors import InvalidInput
from apps.core.parsers import MAX_INT
from apps.executions.models import Execution, ExecutionStatus, OutputChunk, StepRun
from apps.executions.selectors import execution_for_user, execution_steps, executions_visible_to
from apps.executions.serializers import (
    DecisionSerializer,
    ExecutionCreateSerializer,
    ExecutionDetailSerializer,
    ExecutionSerializer,
    PaginatedExecutionSerializer,
    RetrySerializer,
)
from apps.executions.services import cancel, decide, retry, start
from apps.runbooks.roles import RUN
from apps.runbooks.selectors import runbook_for_user
from apps.runbooks.serializers import DetailSerializer

START_FIELDS = ("params", "block", "version")
ERRORS_400 = OpenApiResponse(OpenApiTypes.OBJECT, description="Field errors (params nest per parameter name).")
DETAIL_403 = OpenApiResponse(DetailSerializer, description="Your role on this runbook does not allow that.")
DETAIL_404 = OpenApiResponse(DetailSerializer, description="No such runbook or execution, or you may not see it.")
DETAIL_409 = OpenApiResponse(
    DetailSerializer, description="The execution already finished, or the step is not waiting."
)
DETAIL_503 = OpenApiResponse(DetailSerializer, description="Redis is not reachable; nothing was started.")


def _detail_response(execution: Execution, status_code: int = status.HTTP_200_OK) -> Response:
    """The execution with its steps and their stored output: three queries whatever the output size."""
    fresh = Execution.objects.select_related("version", "triggered_by", "trigger").defer(
        "snapshot", "version__snapshot"
    )
    execution = fresh.get(pk=execution.pk)
    steps = execution_steps(execution)
    texts: dict[int, list[str]] = defaultdict(list)
    chunks = OutputChunk.objects.filter(step_run__execution=execution).order_by("step_run_id", "seq")
    for step_run_id, data in chunks.values_list("step_run_id", "data").iterator():
        texts[step_run_id].append(data)
    for step in steps:
        step.joined_output = "".join(texts.get(step.pk, ()))
    execution.step_list = steps
    return Response(ExecutionDetailSerializer(execution).data, status=status_code)


def _start_body(request: Request) -> dict:
    data = request.data
    if not isinstance(data, dict):
        raise InvalidInput({"non_field_errors": ["Send a JSON object: {params, block, version}."]})
    errors = {name: [f"Unknown field. Fields: {', '.join(START_FIELDS)}."] for name in data if name not in START_FIELDS}
    if data.get("block") is not None and not isinstance(data["block"], str):
        errors["block"] = ["Expected a block key (text) or null."]
    version = data.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, (int, str))):
        errors["version"] = ['Expected a version number, "draft" or null.']
    if errors:
        raise InvalidInput(errors)
    return {name: data.get(name) for name in START_FIELDS}


@extend_schema(
    operation_id="runbooks_executions_create",
    summary="Start a run of a runbook (runners), or of one block",
    request=ExecutionCreateSerializer,
    responses={
        202: ExecutionDetailSerializer,
        400: ERRORS_400,
        403: DETAIL_403,
        404: DETAIL_404,
        503: DETAIL_503,
    },
)
@api_view(["POST"])
def execution_create(request: Request, pk: int) -> Response:
    runbook = runbook_for_user(request.user, pk, RUN)
    body = _start_body(request)
    execution = start.execution_start(runbook=runbook, user=request.user, **body)
    return _detail_response(execution, status.HTTP_202_ACCEPTED)


@extend_schema(
    operation_id="executions_list",
    summary="Executions you may see, newest first",
    parameters=[
        OpenApiParameter(
            "runbook",
            {"type": "integer", "minimum": 0, "maximum": MAX_INT},
            description="Only executions of this runbook.",
        ),
        OpenApiParameter(
            "status", str, enum=list(ExecutionStatus.values), description="Only executions in this state."
        ),
        OpenApiParameter("page", int, description="Page number (50 executions a page)."),
    ],
    responses={200: PaginatedExecutionSerializer, 400: ERRORS_400},
)
@api_view(["GET"])
def execution_list(request: Request) -> Response:
    filters, errors = {}, {}
    runbook = request.query_params.get("runbook")
    if runbook:
        # A runbook id is a bigint: a longer number can match nothing, and is a typo, not a filter.
        if not (runbook.isascii() and runbook.isdigit()) or int(runbook) > MAX_INT:
            errors["runbook"] = ["Expected a runbook id."]
        filters["runbook"] = runbook
    status_filter = request.query_params.get("status")
    if status_filter:
        if status_filter not in ExecutionStatus.values:
            errors["status"] = [f"Expected one of: {', '.join(ExecutionStatus.values)}."]
        filters["status"] = status_filter
    if errors:
        raise InvalidInput(errors)
    queryset = executions_visible_to(
        request.user, runbook=int(filters["runbook"]) if "runbook" in filters else None, status=filters.get("status")
    )
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(queryset, request)
    return paginator.get_paginated_response(ExecutionSerializer(page, many=True).data)


@extend_schema(
    operation_id="executions_retrieve",
    summary="One execution with its steps and their output",
    responses={200: ExecutionDetailSerializer, 404: DETAIL_404},
)
@api_view(["GET"])
def execution_detail(request: Request, pk: int) -> Response:
    return _detail_response(execution_for_user(request.user, pk))


@extend_schema(
    operation_id="executions_cancel",
    summary="Cancel a run (runners): queued and waiting runs stop at once, a running step is killed within 5 s",
    request=None,
    responses={202: ExecutionDetailSerializer, 403: DETAIL_403, 404: DETAIL_404, 409: DETAIL_409},
)
@api_view(["POST"])
def execution_cancel(request: Request, pk: int) -> Response:
    execution = execution_for_user(request.user, pk, RUN)
    cancel.execution_cancel(execution=execution, user=request.user)
    return _detail_response(execution, status.HTTP_202_ACCEPTED)


DECISION_HELP = 'continue / approve / reject; default: "continue" for a confirm gate, "approve" for an approval gate.'


def _body_field(request: Request, name: str, allowed: tuple[str, ...]) -> str | None:
    data = request.data
    if not isinstance(data, dict):
        raise InvalidInput({"non_field_errors": [f"Send a JSON object: {{{', '.join(allowed)}}}."]})
    errors = {key: [f"Unknown field. Fields: {', '.join(allowed)}."] for key in data if key not in allowed}
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        errors[name] = ["Expected text."]
    if errors:
        raise InvalidInput(errors)
    return value or None


@extend_schema(
    operation_id="executions_steps_confirm",
    summary="Pass or reject a waiting confirm/approval gate (runners; approval needs someone other than the starter)",
    request=DecisionSerializer,
    responses={200: ExecutionDetailSerializer, 400: ERRORS_400, 403: DETAIL_403, 404: DETAIL_404, 409: DETAIL_409},
)
@api_view(["POST"])
def execution_step_confirm(request: Request, pk: int, key: str) -> Response:
    execution = execution_for_user(request.user, pk, RUN)
    # The key is part of the URL: one that names no step of this run is a 404, like an unknown id.
    if not StepRun.objects.filter(execution=execution, block_key=key).exists():
        raise Http404("This run has no such step.")
    decision = _body_field(request, "decision", ("decision",))
    decide.execution_confirm(execution=execution, user=request.user, key=key, decision=decision)
    return _detail_response(execution)


@extend_schema(
    operation_id="executions_retry",
    summary="Retry a failed, cancelled, timed-out or incomplete run from one step (earlier results carried)",
    request=RetrySerializer,
    responses={201: ExecutionDetailSerializer, 400: ERRORS_400, 403: DETAIL_403, 404: DETAIL_404, 409: DETAIL_409},
)
@api_view(["POST"])
def execution_retry(request: Request, pk: int) -> Response:
    execution = execution_for_user(request.user, pk, RUN)
    key = _body_field(request, "from", ("from",))
    if not key:
        raise InvalidInput({"from": ["Give the key of the step to start again from."]})
    retry_run = retry.execution_retry_from(execution=execution, user=request.user, key=key)
    return _detail_response(retry_run, status.HTTP_201_CREATED)
