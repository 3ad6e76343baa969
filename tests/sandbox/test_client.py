import docker.errors
import pytest

from apps.sandbox.client import docker_client


def test_a_remote_engine_is_reached_with_the_tls_settings_of_the_environment(settings, monkeypatch, tmp_path):
    settings.DOCKER_HOST = "tcp://127.0.0.1:2376"
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", str(tmp_path))  # no ca.pem/cert.pem/key.pem inside
    # The SDK insists on the client certificates instead of falling back to plain HTTP.
    with pytest.raises(docker.errors.TLSParameterError):
        docker_client()


def test_docker_host_from_settings_wins_over_the_environment(settings, monkeypatch):
    settings.DOCKER_HOST = "unix:///run/does-not-exist.sock"
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    # The client asks the engine for its API version at once: the error shows which one it tried.
    with pytest.raises(docker.errors.DockerException) as caught:
        docker_client()
    assert "No such file or directory" in str(caught.value)
