"""apps.core.pages: the one mapping of domain errors for pages (the API's is apps.core.api)."""

import pytest
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.test import RequestFactory

from apps.core.errors import Conflict, InvalidInput, ServiceUnavailable, StaleRevision, TooLarge
from apps.core.pages import domain_errors, flash, message_of, status_of


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidInput({"name": ["Required."]}), 400),
        (TooLarge({"script": ["Too long."]}), 413),
        (Conflict("Already decided."), 409),
        (StaleRevision(current_revision=3, changed_by="bob", changed_at=None), 409),
        (ServiceUnavailable("Redis is down."), 503),
    ],
)
def test_each_domain_error_answers_the_apis_status(error, status):
    assert status_of(error) == status


def test_an_invalid_input_message_lists_every_field_error():
    assert message_of(InvalidInput({"step": ["No such step."], "decision": ["Choose one."]})) == (
        "No such step. Choose one."
    )
    assert message_of(Conflict("The run is over.")) == "The run is over."


def _request():
    request = RequestFactory().post("/")
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def _back(request, pk):
    return HttpResponse(f"back to {pk}", status=200)


@pytest.mark.parametrize("error", [InvalidInput({"x": ["Bad x."]}), Conflict("Bad x."), ServiceUnavailable("Bad x.")])
def test_a_flashed_domain_error_becomes_a_message_on_the_page_back_leads_to(error):
    @domain_errors(flash(_back, prefix="Not done: "))
    def view(request, pk):
        raise error

    request = _request()
    answer = view(request, pk=7)
    assert answer.content == b"back to 7"
    assert [str(message) for message in get_messages(request)] == ["Not done: Bad x."]


@pytest.mark.parametrize("error", [PermissionDenied("No."), Http404("None."), ValueError("bug")])
def test_access_errors_and_bugs_are_not_domain_errors(error):
    @domain_errors(flash(_back))
    def view(request, pk):
        raise error

    with pytest.raises(type(error)):
        view(_request(), pk=7)


def test_a_view_that_succeeds_answers_itself():
    @domain_errors(flash(_back))
    def view(request, pk):
        return HttpResponse("done", status=201)

    assert view(_request(), pk=7).status_code == 201
