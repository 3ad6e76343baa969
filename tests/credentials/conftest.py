import pytest

from apps.credentials.services import credential_create

SECRET = "tok-3f9a2c7e-payments-api"


@pytest.fixture
def credential(cast):
    """A token credential owned by cast.owner."""

    return credential_create(user=cast.owner, name="payments-api", kind="token", secret=SECRET, description="CI token")
