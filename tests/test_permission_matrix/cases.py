"""How a matrix row is written, and how one request is made and judged.

A row is (URL pattern, method, what each person gets). A status is exact: 200, 201, 204, 401,
403, 404 …, or a redirect to a named place (`to("/runbooks/{runbook}/")`, `{new}` standing for the
id of an object the request created; LOGIN: the sign-in page with ?next= the path asked for).
Allowed requests send a valid body, so an allowed write is seen to change the database and a
refused one to leave it as it was.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

PEOPLE = ("anonymous", "outsider", "viewer", "runner", "editor", "owner", "staff", "admin")


@dataclass(frozen=True)
class Redirect:
    to: str  # a path with {name}s of World.ids, {new} for a created object's id

    def pattern(self, ids: dict) -> str:
        pieces = re.split(r"(\{\w+\})", self.to)
        return "".join(
            r"\d+"
            if piece == "{new}"
            else re.escape(piece.format(**ids))
            if piece.startswith("{")
            else re.escape(piece)
            for piece in pieces
        )


LOGIN = Redirect("login")


def to(path: str) -> Redirect:
    return Redirect(path)


@dataclass(frozen=True)
class Raw:
    """A body sent as it is (the API's Markdown files), not encoded as a form or JSON."""

    content: str
    content_type: str = "text/markdown"


@dataclass(frozen=True)
class Case:
    route: str  # the URL pattern as the resolver spells it: "/runbooks/<int:pk>/edit"
    method: str
    expect: dict
    body: Callable | dict | None = None  # body(world, person) or a fixed dict
    on: dict = field(default_factory=dict)  # URL parameter → World.ids name, where not the default
    query: Callable | str = ""
    htmx: bool = False
    writes: bool | None = None  # does an allowed request change the database? default: any method but GET

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.route}{' (htmx)' if self.htmx else ''}"

    @property
    def is_api(self) -> bool:
        return self.route.startswith("/api/v1/")

    def changes_state(self) -> bool:
        return self.method != "get" if self.writes is None else self.writes


def grid(ok, *, anonymous=LOGIN, **refused) -> dict:
    """Everyone gets `ok` except the people named."""
    return {person: refused.get(person, ok) for person in PEOPLE} | {"anonymous": anonymous}


def signed_in(ok, anonymous=LOGIN) -> dict:
    return grid(ok, anonymous=anonymous)


def public(ok) -> dict:
    return grid(ok, anonymous=ok)


def staff_only(ok, anonymous=LOGIN) -> dict:
    return grid(ok, anonymous=anonymous, owner=403, editor=403, runner=403, viewer=403, outsider=403)


# The runbook's roles: outsiders (and staff, who hold no role) never learn it exists.
def rb_view(ok, anonymous=LOGIN) -> dict:
    return grid(ok, anonymous=anonymous, outsider=404, staff=404)


def rb_run(ok, anonymous=LOGIN) -> dict:
    return grid(ok, anonymous=anonymous, viewer=403, outsider=404, staff=404)


def rb_edit(ok, anonymous=LOGIN) -> dict:
    return grid(ok, anonymous=anonymous, runner=403, viewer=403, outsider=404, staff=404)


def rb_share(ok, anonymous=LOGIN) -> dict:
    return grid(ok, anonymous=anonymous, editor=403, runner=403, viewer=403, outsider=404, staff=404)


# The credential: owner holds `owner`, editor holds `user`, nobody else any role.
def cred_use(ok, anonymous=LOGIN) -> dict:
    return grid(ok, anonymous=anonymous, runner=404, viewer=404, outsider=404, staff=404)


def cred_owner(ok, anonymous=LOGIN) -> dict:
    return grid(ok, anonymous=anonymous, editor=403, runner=404, viewer=404, outsider=404, staff=404)


def api(access: Callable, ok) -> dict:
    """The API's row of an access rule: the anonymous get 401 with a Bearer challenge."""
    return access(ok, anonymous=401)


def login_redirect(path: str) -> str:
    return "/accounts/login/?next=" + quote(path, safe="/")
