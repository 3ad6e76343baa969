"""The runbook list of someone who can see no runbook at all: a first screen, not an empty table."""

from django.contrib.auth import get_user_model
from django.urls import reverse

LIST = reverse("runbooks:list")
LOAD_DEMO = reverse("runbooks:load_demo")


def test_it_welcomes_a_user_who_sees_no_runbook_and_leads_to_creating_one(cast, client_for):
    page = client_for(cast.outsider).get(LIST)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="first-screen"' in html
    assert "Welcome to Runbooks" in html
    assert "No runbooks yet — create your first" in html
    assert f'href="{reverse("runbooks:create")}">Create your first runbook</a>' in html
    # Nothing to search yet: the search bar would only be noise.
    assert 'role="search"' not in html


def test_it_offers_the_demo_only_to_staff(cast, client_for):
    assert LOAD_DEMO.encode() not in client_for(cast.outsider).get(LIST).content
    staff_page = client_for(cast.staff).get(LIST).content.decode()
    assert f'action="{LOAD_DEMO}"' in staff_page
    assert "Load the demo runbooks" in staff_page
    assert "csrfmiddlewaretoken" in staff_page


def test_it_shows_the_list_not_the_first_screen_once_something_is_visible(cast, client_for):
    html = client_for(cast.viewer).get(LIST).content.decode()
    assert "Restart the payments API" in html
    assert 'id="first-screen"' not in html
    assert 'role="search"' in html


def test_an_empty_search_is_not_mistaken_for_an_empty_install(cast, client_for):
    html = client_for(cast.owner).get(LIST, {"q": "zebra"}).content.decode()
    assert "Nothing matches ‘zebra’" in html
    assert 'id="first-screen"' not in html
    assert 'role="search"' in html


def test_the_live_search_partial_of_an_empty_catalogue_is_the_first_screen(cast, client_for):
    page = client_for(cast.staff).get(LIST, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    assert page.content.lstrip().startswith(b'<div id="results"')
    assert b'id="first-screen"' in page.content and b"<html" not in page.content


def test_a_fresh_install_leads_a_superuser_from_the_first_screen_to_the_demo(db, client_for, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    root = get_user_model().objects.create_superuser(username="root", password="root", email="root@example.com")
    client = client_for(root)
    assert b'id="first-screen"' in client.get(LIST).content
    after = client.post(LOAD_DEMO, follow=True)
    html = after.content.decode()
    assert after.redirect_chain == [(LIST, 302)]
    assert 'id="first-screen"' not in html
    assert "Restart a stuck web service" in html and "Investigate high API latency" in html
    assert "Loaded the demo" in html
