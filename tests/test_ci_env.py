"""In CI every real component must really be there: a missing one fails here, loudly, instead of
turning into a quiet skip somewhere else. Outside CI (variables unset) these tests are skipped."""

import os
import shutil

import docker
import pytest
from django.db import connection

from tests.support.switches import required

TEST_IMAGES = ("runbooks-test-busybox:latest", "runbooks-runner:latest")


@pytest.mark.skipif(not required("RUNBOOKS_REQUIRE_POSTGRES"), reason="RUNBOOKS_REQUIRE_POSTGRES is not 1")
@pytest.mark.django_db
def test_the_database_is_postgresql():
    assert connection.vendor == "postgresql", f"the tests run on {connection.vendor}"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        assert int(cursor.fetchone()[0]) >= 150000


@pytest.mark.skipif(not required("RUNBOOKS_REQUIRE_DOCKER"), reason="RUNBOOKS_REQUIRE_DOCKER is not 1")
def test_the_docker_engine_answers_and_has_the_local_test_images():
    client = docker.from_env(timeout=10)
    try:
        assert client.ping()
        for name in TEST_IMAGES:
            # Raises ImageNotFound when .ci/build-test-images.sh did not run.
            client.images.get(name)
        output = client.containers.run(
            "runbooks-test-busybox:latest", ["sh", "-c", "echo ready"], network_mode="none", remove=True
        )
        assert output.strip() == b"ready"
    finally:
        client.close()


@pytest.mark.skipif(not required("RUNBOOKS_REQUIRE_BROWSER"), reason="RUNBOOKS_REQUIRE_BROWSER is not 1")
def test_chromium_renders_a_page(browser):
    executable = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    assert executable and os.path.exists(executable)
    page = browser.new_page()
    try:
        page.set_content("<title>ci</title><p id=probe>rendered</p>")
        assert page.text_content("#probe") == "rendered"
    finally:
        page.close()


@pytest.mark.skipif(os.environ.get("CI") != "true", reason="only in CI")
def test_ci_requires_every_real_component():
    # CI must not drop one of the switches and quietly turn real tests into skips.
    missing = [
        name
        for name in ("RUNBOOKS_REQUIRE_DOCKER", "RUNBOOKS_REQUIRE_POSTGRES", "RUNBOOKS_REQUIRE_BROWSER")
        if not required(name)
    ]
    assert not missing, f"CI runs without {', '.join(missing)}"
