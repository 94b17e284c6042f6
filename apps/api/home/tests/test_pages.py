"""The pages for people: the front door, the docs, the rendered OpenAPI references and their local assets."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command

from apps.llm import services as llm_services
from apps.llm.models import LLMModel


def _assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_front_door_says_what_runs_and_links_everything(client, db, settings):
    settings.EMBEDDED, settings.LLM_CHAT_MODEL = True, "scripted"

    page = client.get("/")

    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    assert f'<td id="version">{settings.DRAMATIS_VERSION}</td>' in html
    assert settings.DRAMATIS_VERSION == "0.1.0"  # from pyproject.toml
    assert "embedded" in re.search(r'<td id="mode">(.*?)</td>', html, re.S).group(1)
    model = re.search(r'<td id="model">(.*?)</td>', html, re.S).group(1)
    assert "<code>scripted</code>" in model and "offline" in model
    for link in (
        "/admin/",
        "/v1/",
        "/docs/",
        "/reference/",
        "/reference/redoc/",
        "/reference/emotion/",
        "/reference/studio/",
        "/v1/openapi.json",
        "/emotion/v1/openapi.json",
        "/studio/api/v1/openapi.json",
        "/v1/llms.txt",
        "/docs/integrators/quickstart.md",
        "/playground/",
    ):
        assert f'href="{link}"' in html, link
    # every local link on the page answers (the stylesheet is a static file found by staticfiles)
    signed_in_only = {"/admin/", "/playground/"}  # their own tests cover them; here they send you to sign in
    for link in {href for href in _assets(html) if href.startswith("/") and href not in signed_in_only}:
        if link.startswith("/static/"):
            assert finders.find(link.removeprefix("/static/")), link
        else:
            assert client.get(link).status_code == 200, link


def test_front_door_in_production_mode_names_the_real_model(client, db, settings):
    settings.EMBEDDED = False
    settings.LLM_CHAT_MODEL = "gpt-4o-mini"

    html = client.get("/").content.decode()

    assert "production" in re.search(r'<td id="mode">(.*?)</td>', html, re.S).group(1)
    model = re.search(r'<td id="model">(.*?)</td>', html, re.S).group(1)
    assert "<code>gpt-4o-mini</code> (openai_compatible)" in model and "offline" not in model


def test_front_door_follows_the_catalogs_default_model(client, db):
    llm_services.llm_model_save(model=LLMModel(name="house", provider="openai_compatible", is_default=True))

    model = re.search(r'<td id="model">(.*?)</td>', client.get("/").content.decode(), re.S).group(1)

    assert "<code>house</code>" in model


def test_docs_index_lists_every_doc_with_its_title(client):
    html = client.get("/docs/").content.decode()

    assert 'href="/docs/integrators/quickstart.md"' in html and "Quickstart" in html
    assert 'href="/docs/architecture.md"' in html


def test_a_doc_renders_as_html_with_tables_and_code(client):
    html = client.get("/docs/integrators/quickstart.md").content.decode()

    assert "<h1>Quickstart" in html and "<pre><code" in html
    assert 'href="events.md"' in html  # relative links between docs keep working
    events = client.get("/docs/integrators/events.md").content.decode()
    assert "<table>" in events


@pytest.mark.parametrize(
    "path",
    [
        "/docs/../README.md",
        "/docs/%2e%2e/README.md",
        "/docs/integrators/../../pyproject.toml",
        "/docs/..%2fREADME.md",
        "/docs//etc/passwd",
        "/docs/missing.md",
        "/docs/integrators",
    ],
)
def test_docs_serve_only_markdown_files_under_docs(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert b"[project]" not in response.content and b"root:" not in response.content


@pytest.mark.parametrize(
    ("path", "asset_dir"),
    [
        ("/reference/", "swagger-ui-dist"),
        ("/reference/redoc/", "redoc"),
        ("/reference/emotion/", "swagger-ui-dist"),
        ("/reference/studio/", "swagger-ui-dist"),
    ],
)
def test_openapi_references_render_with_local_assets_only(client, db, path, asset_dir):
    page = client.get(path)

    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    assert "//" not in "".join(_assets(html))  # no CDN, no Google Fonts: nothing outside is reachable
    scripts = [src for src in _assets(html) if src.endswith(".js")]
    assert scripts and all(f"/static/drf_spectacular_sidecar/{asset_dir}/" in src for src in scripts)
    for asset in _assets(html):
        assert finders.find(asset.removeprefix("/static/")), asset  # served by staticfiles from the sidecar


def test_references_point_at_the_right_documents(client, db):
    assert "/v1/openapi.json" in client.get("/reference/").content.decode()
    assert "/v1/openapi.json" in client.get("/reference/redoc/").content.decode()
    assert "/emotion/v1/openapi.json" in client.get("/reference/emotion/").content.decode()
    assert "/studio/api/v1/openapi.json" in client.get("/reference/studio/").content.decode()


def test_the_openapi_build_prints_no_warnings(db, tmp_path, capsys):
    # --fail-on-warn raises on any drf-spectacular warning or error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    assert "Warning" not in capsys.readouterr().err
    assert "/v1/characters" in (tmp_path / "schema.yaml").read_text()


def test_production_serves_the_collected_static_files_from_the_web_process(db, settings, tmp_path):
    """DEBUG off (production): the release step's collectstatic fills STATIC_ROOT and the web process serves it
    (WhiteNoise), so the front door's stylesheet and the Swagger UI assets load without another server."""
    from django.test import Client

    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path / "static"
    settings.WHITENOISE_USE_FINDERS = False
    settings.WHITENOISE_AUTOREFRESH = False
    call_command("collectstatic", interactive=False, verbosity=0)
    client = Client()  # a new handler: WhiteNoise indexes STATIC_ROOT when the middleware is built
    stylesheet = client.get("/static/dramatis/home.css")
    swagger = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert (stylesheet.status_code, swagger.status_code) == (200, 200)
    assert b"".join(stylesheet.streaming_content) == (tmp_path / "static" / "dramatis" / "home.css").read_bytes()
    assert client.get("/static/dramatis/no-such-file.css").status_code == 404
