"""Telegram bots connected by apps, the chats they serve, the updates they received and what they send.

Imported by ``apps/delivery/models.py``, so these are models of the ``delivery`` app.
"""

from django.db import models
from django.db.models import Q

from apps.core.models import TimestampedModel, prefixed_id_field
from apps.core.secrets import EncryptedTextField
from apps.delivery.telegram.types import TelegramRoutingMode


class TelegramChannel(TimestampedModel):
    """One Telegram bot connected to one app.

    The bot token and the webhook secret are stored encrypted (``EncryptedTextField``) and never shown
    again; ``token_hint`` identifies the token. A bot has a single webhook, so a bot (``bot_id``) is
    connected to at most one channel on this server.
    """

    RoutingMode = TelegramRoutingMode

    class Status(models.TextChoices):
        ACTIVE = "active"
        DEGRADED = "degraded"  # the token works but the webhook is not (or no longer) ours, or failing
        UNAUTHORIZED = "unauthorized"  # Telegram refuses the token (revoked in BotFather)

    class WebhookStatus(models.TextChoices):
        REGISTERED = "registered"
        FAILING = "failing"  # ours, but Telegram reports a recent delivery error
        MISSING = "missing"
        MISMATCHED = "mismatched"  # set to another URL
        UNKNOWN = "unknown"

    id = prefixed_id_field("dch")
    app = models.ForeignKey("accounts.App", on_delete=models.CASCADE, related_name="telegram_channels")
    bot_token = EncryptedTextField()
    token_hint = models.CharField(max_length=40)
    bot_id = models.BigIntegerField(unique=True)
    bot_username = models.CharField(max_length=64)
    bot_name = models.CharField(max_length=128, blank=True)
    routing_mode = models.CharField(max_length=32, choices=RoutingMode.choices, default=RoutingMode.SINGLE_CHARACTER)
    default_character = models.ForeignKey("characters.Character", on_delete=models.RESTRICT, related_name="+")
    webhook_secret = EncryptedTextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    webhook_status = models.CharField(max_length=16, choices=WebhookStatus.choices, default=WebhookStatus.UNKNOWN)
    pending_update_count = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "Telegram channel"
        verbose_name_plural = "Telegram channels"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["app", "-created_at"], name="telegram_channel_app")]

    def __str__(self) -> str:
        return f"@{self.bot_username} ({self.id})"


class TelegramChat(models.Model):
    """A Telegram user talking to a channel's bot, bound to the session that holds the conversation.

    ``scanned_cursor`` is the session cursor up to which events have been turned into delivery rows: the
    event log is the durable source, so an announcement lost on the way never loses a message. One sender
    at a time drains a chat (``lease_expires_at``), which keeps its messages in order.
    """

    channel = models.ForeignKey(TelegramChannel, on_delete=models.CASCADE, related_name="chats")
    telegram_user_id = models.BigIntegerField()
    chat_id = models.BigIntegerField()
    session = models.OneToOneField("conversations.Session", on_delete=models.CASCADE, related_name="+")
    scanned_cursor = models.BigIntegerField(default=0)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "Telegram chat"
        verbose_name_plural = "Telegram chats"
        constraints = [
            models.UniqueConstraint(fields=["channel", "telegram_user_id"], name="telegram_chat_channel_user_unique")
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}:{self.telegram_user_id}"


class TelegramUpdate(models.Model):
    """An update Telegram delivered to our webhook; the unique (channel, update_id) makes re-deliveries no-ops."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted"  # became a message (or, for /start, opened the session)
        IGNORED = "ignored"  # not a private text message
        REJECTED = "rejected"  # a text message the pipeline refused (quota, length); ``detail`` has the code

    channel = models.ForeignKey(TelegramChannel, on_delete=models.CASCADE, related_name="updates")
    update_id = models.BigIntegerField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    detail = models.CharField(max_length=64, blank=True)
    session_id = models.CharField(max_length=40, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "Telegram update"
        verbose_name_plural = "Telegram updates"
        constraints = [
            models.UniqueConstraint(fields=["channel", "update_id"], name="telegram_update_channel_update_unique")
        ]
        indexes = [models.Index(fields=["received_at"], name="telegram_update_received")]

    def __str__(self) -> str:
        return f"{self.channel_id}#{self.update_id} {self.outcome}"


class TelegramDelivery(models.Model):
    """One event of a bound session on its way to Telegram: its bubbles as ``sendMessage`` calls, or the
    typing action. At most one row per (event, bot); ``parts_sent`` records each bubble as it is accepted,
    so a retry resumes after the last bubble Telegram took instead of sending it twice."""

    class Kind(models.TextChoices):
        MESSAGE = "message"
        TYPING = "typing"
        PHOTO = "photo"  # an image.ready event: sendPhoto with the picture's bytes and its caption

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"
        SKIPPED = "skipped"  # a typing action whose reply was already there

    channel = models.ForeignKey(TelegramChannel, on_delete=models.CASCADE, related_name="deliveries")
    chat = models.ForeignKey(TelegramChat, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=128)
    event_type = models.CharField(max_length=64)
    cursor = models.BigIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    texts = models.JSONField(default=list, help_text="The messages to send, in order (a reply's bubbles).")
    image_id = models.CharField(max_length=40, blank=True, help_text="The generated image a photo row sends.")
    parts_sent = models.PositiveIntegerField(default=0)
    message_ids = models.JSONField(default=list, help_text="Telegram's ids of the messages sent so far.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "Telegram delivery"
        verbose_name_plural = "Telegram deliveries"
        constraints = [
            models.UniqueConstraint(fields=["channel", "event_id"], name="telegram_delivery_channel_event_unique")
        ]
        indexes = [
            # A chat's sender reads its pending rows in cursor order; the sweep reads due rows.
            models.Index(
                fields=["chat", "cursor"], name="telegram_delivery_chat_pending", condition=Q(status="pending")
            ),
            models.Index(fields=["next_attempt_at"], name="telegram_delivery_due", condition=Q(status="pending")),
            models.Index(fields=["event_id"], name="telegram_delivery_event"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} -> {self.channel_id} ({self.status})"
