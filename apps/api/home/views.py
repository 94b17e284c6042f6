"""The pages for people: the front door at ``/`` and the docs under ``/docs/``."""

from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from apps.api.home import docs
from apps.llm import selectors as llm_selectors


def home(request):
    """``GET /``: what is running (version, mode, chat model) and where to go next."""
    spec = llm_selectors.model_spec_get()
    context = {
        "version": settings.DRAMATIS_VERSION,
        "embedded": settings.EMBEDDED,
        "model_name": spec.name,
        "model_provider": spec.provider,
        "offline_model": spec.provider == "scripted",
    }
    return render(request, "home/index.html", context)


def doc_index(request):
    """``GET /docs/``: the list of docs."""
    return render(request, "home/docs_index.html", {"pages": docs.doc_pages()})


def doc_page(request, path: str):
    """``GET /docs/<path>.md``: one Markdown file of docs/ as HTML."""
    file = docs.doc_file(path)
    if file is None:
        raise Http404("No such document.")
    title, body = docs.doc_render(file)
    return render(request, "home/doc.html", {"title": title, "body": body, "path": path})


class _PublicDocsView:
    """The rendered OpenAPI documents are public, like the JSON documents they render."""

    authentication_classes: list = []
    permission_classes = [AllowAny]


class NativeSwaggerView(_PublicDocsView, SpectacularSwaggerView):
    url_name = "openapi"
    title = "Dramatis native API (/v1)"


class NativeRedocView(_PublicDocsView, SpectacularRedocView):
    url_name = "openapi"
    template_name = "home/redoc.html"
    title = "Dramatis native API (/v1)"


class EmotionSwaggerView(_PublicDocsView, SpectacularSwaggerView):
    url_name = "emotion-openapi"
    title = "Dramatis emotion API (/emotion/v1)"


class StudioSwaggerView(_PublicDocsView, SpectacularSwaggerView):
    url_name = "studio-openapi"
    title = "Dramatis studio API (/studio/api/v1)"
