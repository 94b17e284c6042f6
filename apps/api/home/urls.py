from django.urls import path

from apps.api.home import views

urlpatterns = [
    path("", views.home, name="home"),
    path("docs/", views.doc_index, name="docs"),
    path("docs/<path:path>", views.doc_page, name="doc-page"),
    path("reference/", views.NativeSwaggerView.as_view(), name="reference-swagger"),
    path("reference/redoc/", views.NativeRedocView.as_view(), name="reference-redoc"),
    path("reference/emotion/", views.EmotionSwaggerView.as_view(), name="reference-emotion"),
    path("reference/studio/", views.StudioSwaggerView.as_view(), name="reference-studio"),
]
