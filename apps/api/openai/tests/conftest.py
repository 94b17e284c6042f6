import openai
import pytest

from apps.characters.tests.factories import character_publish


@pytest.fixture
def luna(owner):
    """A published character of the acting app."""
    return character_publish(owner.api_key.app, slug="luna", greeting="Hi, I'm Luna.").character


@pytest.fixture
def theirs(other):
    """A published character of another app."""
    return character_publish(other.api_key.app, slug="theirs", display_name="Theirs").character


@pytest.fixture
def sdk(live_server, owner):
    """OpenAI's own client on the live server, as an integrator would point it at this door."""
    with openai.OpenAI(base_url=f"{live_server.url}/openai/v1", api_key=owner.raw_key, max_retries=0) as client:
        yield client
