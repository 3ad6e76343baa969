"""Building an inline Dockerfile on the real Docker engine: a good build is tagged by content, a bad one says why."""

import pytest

from apps.audit.models import AuditEvent
from apps.environments.jobs import build_environment
from apps.environments.services import environment_build, environment_create, environment_tag

GOOD = "FROM runbooks-test-busybox:latest\nRUN echo built > /built\n"
BAD = "FROM runbooks-test-busybox:latest\nRUN exit 3\n"


@pytest.fixture
def built_images(docker_engine):
    tags = []
    yield tags
    for tag in tags:
        try:
            docker_engine.images.remove(tag, force=True)
        except Exception:  # already gone: nothing to clean
            pass


def test_a_good_dockerfile_builds_an_image_tagged_by_its_content(cast, docker_engine, built_images):
    environment = environment_create(user=cast.staff, data={"name": "built", "dockerfile": GOOD})
    built_images.append(environment_tag(GOOD))
    build_environment(environment.pk)  # the RQ job, run in-process
    environment.refresh_from_db()
    assert environment.build_status == "ready", environment.build_log
    assert environment.built_image == environment_tag(GOOD)
    assert environment.built_at is not None
    assert "echo built" in environment.build_log
    image = docker_engine.images.get(environment.built_image)
    output = docker_engine.containers.run(image.id, ["cat", "/built"], remove=True, network_mode="none")
    assert output == b"built\n"
    assert AuditEvent.objects.filter(action="environment.build", detail__status="ready").exists()


def test_a_failing_dockerfile_ends_failed_with_its_log(cast, docker_engine, built_images):
    environment = environment_create(user=cast.staff, data={"name": "broken", "dockerfile": BAD})
    built_images.append(environment_tag(BAD))
    environment_build(environment=environment)
    environment.refresh_from_db()
    assert environment.build_status == "failed"
    assert environment.built_image == ""
    assert "exit 3" in environment.build_log
    assert "Build failed:" in environment.build_log and "returned a non-zero code: 3" in environment.build_log


def test_the_page_shows_a_failed_build_clearly_and_stops_polling(cast, client_for, docker_engine, built_images):
    environment = environment_create(user=cast.staff, data={"name": "broken", "dockerfile": BAD})
    page = client_for(cast.runner).get(
        f"/environments/{environment.pk}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET=f"build-{environment.pk}"
    )
    assert 'hx-trigger="every 2s"' in page.content.decode(), "a running build is polled"
    environment_build(environment=environment)
    page = client_for(cast.runner).get(
        f"/environments/{environment.pk}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET=f"build-{environment.pk}"
    )
    html = page.content.decode()
    assert "The build failed" in html and "exit 3" in html
    assert "hx-trigger" not in html, "a finished build is not polled any more"


def test_a_build_with_the_docker_engine_down_fails_with_a_clear_log(cast, settings, tmp_path):
    environment = environment_create(user=cast.staff, data={"name": "nodocker", "dockerfile": GOOD})
    settings.DOCKER_HOST = f"unix://{tmp_path}/closed.sock"  # a real fault: nothing listens there
    environment_build(environment=environment)
    environment.refresh_from_db()
    assert environment.build_status == "failed"
    assert "Docker engine not reachable" in environment.build_log
