"""Telegram delivery channels: connect a bot to the app, list, read, verify and disconnect it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from apps.accounts import selectors as accounts_selectors
from apps.api.native.envelope import action, envelope
from apps.api.native.serializers import AUTH_ERRORS, BODY_ERRORS, ErrorSerializer, enveloped
from apps.characters.types import SLUG_PATTERN
from apps.core.fields import StrictCharField
from apps.delivery.telegram import selectors
from apps.delivery.telegram import services as telegram_services
from apps.delivery.telegram.errors import TelegramNotForSandbox
from apps.delivery.telegram.types import TOKEN_PATTERN, TelegramRoutingMode

if TYPE_CHECKING:
    from apps.delivery.telegram.models import TelegramChannel


# --- shapes ------------------------------------------------------------------------------------------
class TelegramChannelInput(serializers.Serializer):
    bot_token = StrictCharField(
        max_length=200,
        validators=[RegexValidator(TOKEN_PATTERN, "Not a bot token; they look like 123456789:AAHdqTcv…")],
        help_text="The bot's token from @BotFather. Stored encrypted; never shown again.",
    )
    routing_mode = serializers.ChoiceField(
        choices=TelegramRoutingMode.choices,
        default=TelegramRoutingMode.SINGLE_CHARACTER,
        help_text="single_character: every Telegram user of the bot talks to default_character_id, "
        "in a session of their own.",
    )
    default_character_id = StrictCharField(
        max_length=128,
        validators=[RegexValidator(SLUG_PATTERN, "Not a character slug.")],
        help_text="Slug of the published character the bot speaks as (404 character_not_found if unknown).",
    )


class TelegramChannelOutput(serializers.Serializer):
    channel_id = serializers.CharField()
    kind = serializers.CharField(help_text="Always telegram.")
    bot_id = serializers.IntegerField()
    bot_username = serializers.CharField()
    bot_name = serializers.CharField()
    token_hint = serializers.CharField(help_text="The bot id and the token's last four characters.")
    routing_mode = serializers.CharField()
    default_character_id = serializers.CharField()
    status = serializers.CharField(
        help_text="active; degraded (the webhook is missing, elsewhere or failing); unauthorized (token revoked)."
    )
    webhook_status = serializers.CharField(help_text="registered, failing, missing, mismatched or unknown.")
    pending_update_count = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField(allow_null=True)
    verified_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class TelegramChannelListOutput(serializers.Serializer):
    channels = TelegramChannelOutput(many=True)


class TelegramVerifyOutput(TelegramChannelOutput):
    webhook_url = serializers.CharField(help_text="Where Telegram sends the bot's updates now (empty: nowhere).")
    repaired = serializers.BooleanField(help_text="Whether the webhook was registered again by this check.")


class TelegramDeleteOutput(serializers.Serializer):
    channel_id = serializers.CharField()
    deleted = serializers.BooleanField()
    webhook_removed = serializers.BooleanField(help_text="Whether Telegram confirmed deleteWebhook.")


def channel_data(channel: TelegramChannel) -> dict:
    return {
        "channel_id": channel.id,
        "kind": "telegram",
        "bot_id": channel.bot_id,
        "bot_username": channel.bot_username,
        "bot_name": channel.bot_name,
        "token_hint": channel.token_hint,
        "routing_mode": channel.routing_mode,
        "default_character_id": channel.default_character.slug,
        "status": channel.status,
        "webhook_status": channel.webhook_status,
        "pending_update_count": channel.pending_update_count,
        "last_error": channel.last_error or None,
        "verified_at": channel.verified_at,
        "created_at": channel.created_at,
        "updated_at": channel.updated_at,
    }


def _channel_actions(channel_id: str) -> list[dict[str, str]]:
    return [
        action(f"POST /v1/delivery-channels/{channel_id}/verify", "Re-check the token and the webhook"),
        action(f"DELETE /v1/delivery-channels/{channel_id}", "Disconnect the bot"),
    ]


# --- views -------------------------------------------------------------------------------------------
class TelegramChannelCollectionApi(APIView):
    @extend_schema(
        operation_id="telegram_channel_connect",
        request=TelegramChannelInput,
        responses={
            200: enveloped("TelegramChannelUpdatedEnvelope", TelegramChannelOutput),
            201: enveloped("TelegramChannelEnvelope", TelegramChannelOutput),
            409: ErrorSerializer,
            503: ErrorSerializer,
            **BODY_ERRORS,
            **AUTH_ERRORS,
        },
        description="Connect a Telegram bot: the token is checked with getMe, the bot's webhook is pointed at "
        "this server with a secret token, and the token is stored encrypted (never echoed). Each Telegram user "
        "who writes to the bot gets a session with the default character; replies go back as messages. "
        "Connecting the same bot again updates the channel (200).",
    )
    def post(self, request, app_id: str):
        app = accounts_selectors.app_get(app=request.user, app_id=app_id)
        if app.is_sandbox:
            raise TelegramNotForSandbox("Sandbox keys cannot connect Telegram bots.")
        serializer = TelegramChannelInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        channel, created = telegram_services.telegram_channel_connect(
            app=app,
            bot_token=data["bot_token"],
            routing_mode=data["routing_mode"],
            default_character_slug=data["default_character_id"],
        )
        next_actions = [
            action(f"https://t.me/{channel.bot_username}", "Open the bot in Telegram and say hi"),
            *_channel_actions(channel.id),
        ]
        return envelope(channel_data(channel), next_actions, status=201 if created else 200)

    @extend_schema(
        operation_id="telegram_channel_list",
        responses={200: enveloped("TelegramChannelListEnvelope", TelegramChannelListOutput), **AUTH_ERRORS},
    )
    def get(self, request, app_id: str):
        app = accounts_selectors.app_get(app=request.user, app_id=app_id)
        found = [channel_data(channel) for channel in selectors.telegram_channel_list(app=app)]
        return envelope(
            {"channels": found},
            [action(f"POST /v1/apps/{app_id}/delivery-channels/telegram", "Connect a Telegram bot")],
        )


class DeliveryChannelDetailApi(APIView):
    @extend_schema(
        operation_id="delivery_channel_get",
        responses={200: enveloped("TelegramChannelDetailEnvelope", TelegramChannelOutput), **AUTH_ERRORS},
    )
    def get(self, request, channel_id: str):
        channel = selectors.telegram_channel_get(app=request.user, channel_id=channel_id)
        return envelope(channel_data(channel), _channel_actions(channel.id))

    @extend_schema(
        operation_id="delivery_channel_delete",
        responses={200: enveloped("TelegramChannelDeletedEnvelope", TelegramDeleteOutput), **AUTH_ERRORS},
        description="Disconnect the bot: deleteWebhook at Telegram (best effort), then forget the channel, its "
        "token and its pending sends. The sessions and their events stay.",
    )
    def delete(self, request, channel_id: str):
        channel = selectors.telegram_channel_get(app=request.user, channel_id=channel_id)
        removed = telegram_services.telegram_channel_delete(channel=channel)
        app_id = request.user.id
        return envelope(
            {"channel_id": channel_id, "deleted": True, "webhook_removed": removed},
            [action(f"GET /v1/apps/{app_id}/delivery-channels/telegram", "List the remaining channels")],
        )


class DeliveryChannelVerifyApi(APIView):
    @extend_schema(
        operation_id="delivery_channel_verify",
        request=None,
        responses={
            200: enveloped("TelegramVerifyEnvelope", TelegramVerifyOutput),
            503: ErrorSerializer,
            **AUTH_ERRORS,
        },
        description="Re-check the channel (after changing the bot in @BotFather): getMe for the token, "
        "getWebhookInfo for the webhook, which is registered again when it is missing or points elsewhere. "
        "The answer is the channel with its new status.",
    )
    def post(self, request, channel_id: str):
        channel = selectors.telegram_channel_get(app=request.user, channel_id=channel_id)
        report = telegram_services.telegram_channel_verify(channel=channel)
        data = {**channel_data(report.channel), "webhook_url": report.webhook_url, "repaired": report.repaired}
        return envelope(data, _channel_actions(channel.id))
