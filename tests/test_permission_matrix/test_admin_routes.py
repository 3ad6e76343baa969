"""The admin's own guard covers its routes: everyone but staff is sent to its sign-in. Staff and
superuser pages are tested in tests/admin/."""

import re

import pytest
from django.test import Client
from django.urls import Resolver404, resolve

from .requests import project_routes

ADMIN_ROUTES = sorted(route for route in project_routes() if route.startswith("/admin/"))


def concrete(route: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", "1", route).replace("^", "").replace("$", "")


@pytest.mark.parametrize("person", ("anonymous", "owner", "outsider"))
@pytest.mark.parametrize("route", ADMIN_ROUTES)
def test_the_admin_sends_everyone_but_staff_to_its_sign_in(world, db, person, route):
    client = Client()
    if person != "anonymous":
        client.force_login(getattr(world.cast, person))
    url = concrete(route)
    response = client.get(url)
    if route == "/admin/login/":
        assert response.status_code == 200
    elif route == "/admin/logout/":
        # Signing out is a POST; a GET (never showing data) is sent back to the admin's index.
        assert (response.status_code, response["Location"]) == (302, "/admin/")
    elif route.endswith("stats.json/?$"):
        assert response.status_code == 401  # django-rq's JSON stats answer a non-staff caller so, not with a redirect
    else:
        try:
            resolve(url)
        except Resolver404:  # a pattern (an app label, a regex) that "1" does not fill
            assert response.status_code == 404
        else:
            assert response.status_code == 302, response.status_code
            assert response["Location"].startswith("/admin/login/?next=")
