from django.urls import path, re_path

from apps.api.native import errors, streams
from apps.api.native.views import (
    cards,
    channels,
    characters,
    demo,
    emotion,
    images,
    lorebooks,
    meta,
    proactive,
    sessions,
    telegram,
    usage,
    visual_assets,
)

urlpatterns = [
    path("", meta.ApiRootApi.as_view(), name="api-root"),
    path("openapi.json", meta.OpenApiSchemaApi.as_view(), name="openapi"),
    path("llms.txt", meta.llms_txt, name="llms-txt"),
    path("demo/sandbox-key", demo.DemoSandboxKeyApi.as_view(), name="demo-sandbox-key"),
    path("characters", characters.CharacterCollectionApi.as_view(), name="characters"),
    path("characters/validate", characters.CharacterValidateApi.as_view(), name="character-validate"),
    path("characters/import", cards.CharacterCardImportApi.as_view(), name="character-card-import"),
    path("characters/<str:slug>", characters.CharacterDetailApi.as_view(), name="character-detail"),
    path("characters/<str:slug>/export", cards.CharacterCardExportApi.as_view(), name="character-card-export"),
    path("characters/<str:slug>/versions", characters.CharacterVersionListApi.as_view(), name="character-versions"),
    path("characters/<str:slug>/readiness", characters.CharacterReadinessApi.as_view(), name="character-readiness"),
    path("characters/<str:slug>/lorebook", lorebooks.CharacterLorebookApi.as_view(), name="character-lorebook"),
    path("characters/<str:slug>/lorebooks", lorebooks.CharacterLorebooksApi.as_view(), name="character-lorebooks"),
    path("lorebooks", lorebooks.LorebookCollectionApi.as_view(), name="lorebooks"),
    path("lorebooks/<str:lorebook_id>", lorebooks.LorebookDetailApi.as_view(), name="lorebook-detail"),
    path("characters/<str:slug>/image-probe", images.ImageProbeCollectionApi.as_view(), name="character-image-probes"),
    path(
        "characters/<str:slug>/image-probe/<str:probe_id>",
        images.ImageProbeDetailApi.as_view(),
        name="character-image-probe",
    ),
    path(
        "characters/<str:slug>/visual-assets",
        visual_assets.VisualAssetCollectionApi.as_view(),
        name="character-visual-assets",
    ),
    path(
        "characters/<str:slug>/visual-assets/register-url",
        visual_assets.VisualAssetRegisterUrlApi.as_view(),
        name="character-visual-asset-register-url",
    ),
    path(
        "characters/<str:slug>/visual-assets/<str:asset_id>",
        visual_assets.VisualAssetDetailApi.as_view(),
        name="character-visual-asset",
    ),
    path(
        "characters/<str:slug>/visual-assets/<str:asset_id>/promote",
        visual_assets.VisualAssetPromoteApi.as_view(),
        name="character-visual-asset-promote",
    ),
    path(
        "characters/<str:slug>/visual-assets/<str:asset_id>/retire",
        visual_assets.VisualAssetRetireApi.as_view(),
        name="character-visual-asset-retire",
    ),
    path(
        "characters/<str:slug>/visual-readiness",
        visual_assets.VisualReadinessApi.as_view(),
        name="character-visual-readiness",
    ),
    # A stored file behind a signed, expiring URL (apps.assets.selectors.file_url_signed): no API key.
    path("files/<str:token>", visual_assets.signed_file, name="signed-file"),
    path("sessions", sessions.SessionCollectionApi.as_view(), name="sessions"),
    path("sessions/<str:session_id>", sessions.SessionDetailApi.as_view(), name="session-detail"),
    path("sessions/<str:session_id>/messages", sessions.MessageSendApi.as_view(), name="session-messages"),
    path("sessions/<str:session_id>/events", sessions.EventListApi.as_view(), name="session-events"),
    path("sessions/<str:session_id>/events/stream", streams.session_event_stream, name="session-event-stream"),
    path("sessions/<str:session_id>/stream-token", sessions.StreamTokenApi.as_view(), name="session-stream-token"),
    path("sessions/<str:session_id>/runs", sessions.RunListApi.as_view(), name="session-runs"),
    path(
        "apps/<str:app_id>/delivery-channels/telegram",
        telegram.TelegramChannelCollectionApi.as_view(),
        name="telegram-channels",
    ),
    path("delivery-channels/<str:channel_id>", telegram.DeliveryChannelDetailApi.as_view(), name="delivery-channel"),
    path(
        "delivery-channels/<str:channel_id>/verify",
        telegram.DeliveryChannelVerifyApi.as_view(),
        name="delivery-channel-verify",
    ),
    path("sessions/<str:session_id>/trace", usage.SessionTraceApi.as_view(), name="session-trace"),
    path("rates", usage.RatesApi.as_view(), name="rates"),
    path("usage", usage.UsageApi.as_view(), name="usage"),
    path("account", usage.AccountApi.as_view(), name="account"),
    path("budget-policy", usage.AppBudgetPolicyApi.as_view(), name="app-budget-policy"),
    path(
        "external-users/<str:external_user_ref>/budget-policy",
        usage.ExternalUserBudgetPolicyApi.as_view(),
        name="external-user-budget-policy",
    ),
    path(
        "sessions/<str:session_id>/proactive-controls",
        proactive.ProactiveControlsApi.as_view(),
        name="session-proactive-controls",
    ),
    path(
        "sessions/<str:session_id>/proactive-test", proactive.ProactiveTestApi.as_view(), name="session-proactive-test"
    ),
    path("sessions/<str:session_id>/state", emotion.SessionStateApi.as_view(), name="session-state"),
    path("sessions/<str:session_id>/channels", channels.SessionChannelCollectionApi.as_view(), name="session-channels"),
    path(
        "sessions/<str:session_id>/channels/<str:webhook_id>",
        channels.SessionChannelDetailApi.as_view(),
        name="session-channel-detail",
    ),
    path("webhook-endpoints", channels.WebhookEndpointCollectionApi.as_view(), name="webhook-endpoints"),
    path("webhook-endpoints/<str:endpoint_id>", channels.WebhookEndpointDetailApi.as_view(), name="webhook-endpoint"),
    # Last: unknown /v1 URLs answer in the native error shape even with DEBUG on (the embedded default).
    re_path(r"^.*$", errors.not_found_view, name="not-found"),
]
