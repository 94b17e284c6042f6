"""What crosses Telegram's doors: the inbound update as the domain reads it, the outcomes its services
report, and the rules a surface validates input with before calling them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from apps.delivery.telegram.models import TelegramChannel

# A bot token as @BotFather issues it: the bot's numeric id, a colon, then the secret part.
TOKEN_PATTERN = re.compile(r"^[0-9]{1,20}:[A-Za-z0-9_-]{20,100}$")


class TelegramRoutingMode(models.TextChoices):
    """Which character answers a bot's users."""

    SINGLE_CHARACTER = "single_character"


@dataclass(frozen=True)
class TelegramMessage:
    """A text message sent to a bot, with what the domain decides on (the surface reads it off the Bot API's
    ``Message`` object)."""

    user_id: int  # the sender (``from.id``)
    chat_id: int
    text: str
    private: bool  # a one-to-one chat with the bot, not a group or a channel
    from_bot: bool  # sent by another bot


@dataclass(frozen=True)
class InboundUpdate:
    """One update Telegram delivered to a channel's webhook."""

    update_id: int  # unique per bot; Telegram re-delivers the same id until it gets a 2xx
    message: TelegramMessage | None  # None: anything but a text message (edits, media, callbacks...)


@dataclass(frozen=True)
class UpdateOutcome:
    """What became of an inbound update (recorded on its ``TelegramUpdate`` row)."""

    outcome: str  # accepted | ignored | rejected | duplicate
    detail: str = ""
    session_id: str = ""


@dataclass(frozen=True)
class VerifyReport:
    """A channel after ``telegram_channel_verify``, with what Telegram said about its webhook."""

    channel: TelegramChannel
    webhook_url: str
    repaired: bool
    telegram_error: str
