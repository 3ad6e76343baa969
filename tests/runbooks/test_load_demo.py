"""POST /runbooks/demo: staff load the demo runbooks (apps.runbooks.demo.demo_seed); nobody else can."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from apps.runbooks.demo import DEMO_RUNBOOKS
from apps.runbooks.models import Runbook, RunbookVersion

LOAD_DEMO = reverse("runbooks:load_demo")
LIST = reverse("runbooks:list")
DEMO_TITLES = [spec["title"] for spec in DEMO_RUNBOOKS]
User = get_user_model()


@pytest.fixture(autouse=True)
def _throwaway_var_dir(settings, tmp_path):
    # demo_seed writes the demo passwords under VAR_DIR; never into the checkout's var/.
    settings.VAR_DIR = tmp_path


@pytest.fixture
def fresh_install(db):
    """An install before any demo: a staff member, a superuser not called admin, a plain user."""
    return {
        "staff": User.objects.create_user(username="sam", password="sam", is_staff=True),
        "root": User.objects.create_superuser(username="root", password="root", email="root@example.com"),
        "plain": User.objects.create_user(username="pat", password="pat"),
    }


def demo_runbooks():
    return Runbook.objects.filter(title__in=DEMO_TITLES)


def test_it_sends_anonymous_visitors_to_sign_in_and_seeds_nothing(fresh_install, client):
    answer = client.post(LOAD_DEMO)
    assert answer.status_code == 302
    assert answer["Location"].startswith(reverse("accounts:login"))
    assert not demo_runbooks().exists()


@pytest.mark.parametrize("role", ["owner", "editor", "runner", "viewer", "outsider"])
def test_it_refuses_non_staff_with_403_and_seeds_nothing(cast, client_for, role, tmp_path):
    answer = client_for(getattr(cast, role)).post(LOAD_DEMO)
    assert answer.status_code == 403
    assert not demo_runbooks().exists()
    assert not User.objects.filter(username="oncall").exists()
    assert list(tmp_path.iterdir()) == []


def test_it_only_accepts_post(fresh_install, client_for):
    assert client_for(fresh_install["staff"]).get(LOAD_DEMO).status_code == 405
    assert not demo_runbooks().exists()


def test_staff_seed_the_demo_and_are_told_what_happened(fresh_install, client_for, tmp_path):
    answer = client_for(fresh_install["staff"]).post(LOAD_DEMO, follow=True)
    assert answer.redirect_chain == [(LIST, 302)]
    assert sorted(demo_runbooks().values_list("title", flat=True)) == sorted(DEMO_TITLES)
    for runbook in demo_runbooks():
        assert runbook.owner.username == "admin"
        assert RunbookVersion.objects.filter(runbook=runbook, number=1).exists()
    assert User.objects.get(username="oncall").groups.filter(name="sre").exists()
    assert (tmp_path / "demo_oncall_password").exists()
    html = answer.content.decode()
    assert "Loaded the demo: 2 runbooks owned by admin that the sre group may run." in html
    # A staff member without a role on them cannot see them yet, and is told so instead of
    # being left on an unchanged first screen.
    assert "You cannot see them yet" in html
    assert 'id="first-screen"' in html


def test_a_second_load_changes_nothing_and_says_so(fresh_install, client_for):
    client = client_for(fresh_install["root"])
    client.post(LOAD_DEMO)
    counts = (Runbook.objects.count(), User.objects.count(), Group.objects.count())
    again = client.post(LOAD_DEMO, follow=True)
    assert (Runbook.objects.count(), User.objects.count(), Group.objects.count()) == counts
    html = again.content.decode()
    assert "already loaded; nothing changed" in html
    # Superusers see every runbook: the demo is on the list, with no warning.
    assert "You cannot see them yet" not in html
    assert all(title in html for title in DEMO_TITLES)


def test_it_never_resets_the_password_of_an_existing_admin_account(cast, client_for):
    # The cast's superuser is called "admin", like the demo's, and no demo password file exists.
    answer = client_for(cast.staff).post(LOAD_DEMO, follow=True)
    html = answer.content.decode()
    assert "Not loaded: the demo would give the existing account admin a new password." in html
    cast.admin.refresh_from_db()
    assert cast.admin.check_password("admin")
    assert not demo_runbooks().exists()
    assert not User.objects.filter(username="oncall").exists()


def test_it_loads_when_the_admin_account_came_from_an_earlier_demo(cast, client_for, tmp_path):
    # `make run` seeded before: the file holds the admin's password, so demo_seed keeps it.
    (tmp_path / "demo_admin_password").write_text("admin\n")
    answer = client_for(cast.admin).post(LOAD_DEMO, follow=True)
    assert "Loaded the demo" in answer.content.decode()
    cast.admin.refresh_from_db()
    assert cast.admin.check_password("admin")
    assert demo_runbooks().count() == 2


def test_the_page_shows_no_password(fresh_install, client_for, tmp_path):
    html = client_for(fresh_install["root"]).post(LOAD_DEMO, follow=True).content.decode()
    for name in ("demo_admin_password", "demo_oncall_password"):
        password = (tmp_path / name).read_text().strip()
        assert password and password not in html
