from django.urls import path, re_path

from apps.api.npc import errors, llm_keys, management, views
from apps.api.npc.player import player_view

api = "api/v1/"
sdk = api + "sdk/"
chat = sdk + "chat/<str:persona_id>/"
player = api + "chat/<str:persona_id>/"

urlpatterns = [
    path(api + "openapi.json", views.openapi_json, name="npc-openapi"),
    path(sdk + "personas", views.PersonaListApi.as_view(), name="npc-sdk-personas"),
    path(chat + "init-session", views.InitSessionApi.as_view(), name="npc-sdk-init-session"),
    path(chat + "message", views.MessageApi.as_view(), name="npc-sdk-message"),
    path(chat + "message/stream", views.MessageStreamApi.as_view(), name="npc-sdk-message-stream"),
    path(chat + "session", views.SessionApi.as_view(), name="npc-sdk-session"),
    path(chat + "history", views.HistoryApi.as_view(), name="npc-sdk-history"),
    path(chat + "reset", views.ResetApi.as_view(), name="npc-sdk-reset"),
    path(chat + "machines", views.MachineListApi.as_view(), name="npc-sdk-machines"),
    path(sdk + "validate-llm-key", llm_keys.ValidateLlmKeyApi.as_view(), name="npc-sdk-validate-llm-key"),
    # The player routes: the SDK's views on either key header.
    path(player + "init-session", player_view(views.InitSessionApi).as_view(), name="npc-chat-init-session"),
    path(player + "message", player_view(views.MessageApi).as_view(), name="npc-chat-message"),
    path(player + "message/stream", player_view(views.MessageStreamApi).as_view(), name="npc-chat-message-stream"),
    path(player + "session", player_view(views.SessionApi).as_view(), name="npc-chat-session"),
    path(player + "history", player_view(views.HistoryApi).as_view(), name="npc-chat-history"),
    path(player + "reset", player_view(views.ResetApi).as_view(), name="npc-chat-reset"),
    path(player + "machines", player_view(views.MachineListApi).as_view(), name="npc-chat-machines"),
    path(api + "personas", management.PersonaCollectionApi.as_view(), name="npc-personas"),
    path(api + "personas/<str:persona_id>", management.PersonaDetailApi.as_view(), name="npc-persona"),
    path(api + "personas/<str:persona_id>/full", management.PersonaFullApi.as_view(), name="npc-persona-full"),
    path(api + "creator/save", management.CreatorSaveApi.as_view(), name="npc-creator-save"),
    # Last: unknown URLs under /npc answer in Foil's error shape.
    re_path(r"^.*$", errors.not_found_view, name="npc-not-found"),
]
