from django.urls import path, re_path

from apps.api.npc import errors, management, views

api = "api/v1/"
sdk = api + "sdk/"
chat = sdk + "chat/<str:persona_id>/"

urlpatterns = [
    path(sdk + "personas", views.PersonaListApi.as_view(), name="npc-sdk-personas"),
    path(chat + "init-session", views.InitSessionApi.as_view(), name="npc-sdk-init-session"),
    path(chat + "message", views.MessageApi.as_view(), name="npc-sdk-message"),
    path(chat + "message/stream", views.MessageStreamApi.as_view(), name="npc-sdk-message-stream"),
    path(chat + "session", views.SessionApi.as_view(), name="npc-sdk-session"),
    path(chat + "history", views.HistoryApi.as_view(), name="npc-sdk-history"),
    path(chat + "reset", views.ResetApi.as_view(), name="npc-sdk-reset"),
    path(chat + "machines", views.MachineListApi.as_view(), name="npc-sdk-machines"),
    path(api + "personas", management.PersonaCollectionApi.as_view(), name="npc-personas"),
    path(api + "personas/<str:persona_id>", management.PersonaDetailApi.as_view(), name="npc-persona"),
    path(api + "personas/<str:persona_id>/full", management.PersonaFullApi.as_view(), name="npc-persona-full"),
    path(api + "creator/save", management.CreatorSaveApi.as_view(), name="npc-creator-save"),
    # Last: unknown URLs under /npc answer in Foil's error shape.
    re_path(r"^.*$", errors.not_found_view, name="npc-not-found"),
]
