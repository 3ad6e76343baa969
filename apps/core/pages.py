"""Domain errors on pages and htmx partials, mapped once (apps.core.api does the same for the API).

A page answers a domain error in one of two ways:
- a form re-rendered with the errors next to its fields: the view keeps a local `except`, with a
  comment, and takes its status from `status_of` (400, 413, 409, 503 — the API's codes);
- a button that leads back to a page (approve a gate, cancel a run, dismiss a proposal): the view
  is decorated with `@domain_errors(responder)` and only calls the service; the responder says
  what the user sees instead (usually `flash(back)`: the error as a message on the page `back` gives).

PermissionDenied and Http404 are not caught here: Django answers them (403.html, 404.html) as it
does for every page, so an access check inside a decorated view still answers 403/404.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.http import HttpRequest, HttpResponse

from apps.core.errors import Conflict, InvalidInput, ServiceUnavailable, TooLarge

DOMAIN_ERRORS = (InvalidInput, Conflict, ServiceUnavailable)

Responder = Callable[..., HttpResponse]


def status_of(error: Exception) -> int:
    """The HTTP status a page answers a domain error with: the same as the API's."""
    if isinstance(error, TooLarge):
        return 413
    if isinstance(error, InvalidInput):
        return 400
    if isinstance(error, Conflict):
        return 409
    if isinstance(error, ServiceUnavailable):
        return 503
    return 500


def message_of(error: Exception) -> str:
    """One line for a message: every field error of an InvalidInput, else the error's own text."""
    if isinstance(error, InvalidInput):
        return " ".join(str(message) for messages_ in error.errors.values() for message in messages_)
    return str(error)


def domain_errors(respond: Responder) -> Callable[[Callable], Callable]:
    """A view whose domain errors become `respond(request, error, *args, **kwargs)`.

    `args`/`kwargs` are the view's own URL arguments, so the responder can find its way back.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except DOMAIN_ERRORS as error:
                return respond(request, error, *args, **kwargs)

        return wrapper

    return decorator


def flash(back: Callable[..., HttpResponse], *, prefix: str = "") -> Responder:
    """A responder: the error as a message (after `prefix`), then the page `back(request, *args, **kwargs)` gives."""

    def respond(request: HttpRequest, error: Exception, *args, **kwargs) -> HttpResponse:
        messages.error(request, f"{prefix}{message_of(error)}")
        return back(request, *args, **kwargs)

    return respond
