import pytest
from rest_framework.test import APIClient


def foil_client(raw_key: str) -> APIClient:
    """A client that sends ``raw_key`` the way Foil's SDK does, in ``X-API-Key``."""
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw_key)
    return client


@pytest.fixture
def foil(owner) -> APIClient:
    return foil_client(owner.raw_key)


@pytest.fixture
def other_foil(other) -> APIClient:
    return foil_client(other.raw_key)
