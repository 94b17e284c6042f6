"""``POST /hooks/telegram/<channel id>``: where a connected bot's webhook points.

Telegram sends each Update as JSON with the ``X-Telegram-Bot-Api-Secret-Token`` header registered by
setWebhook. Any 2xx tells Telegram the update arrived; anything else makes it retry the same update.
So a wrong or missing secret is refused (403/401, in the house error shape, the native surface's), and
everything properly authenticated is acknowledged with 200, including updates we ignore and messages the
pipeline refused.

The Bot API's JSON stops here: it is read into an ``InboundUpdate`` (``apps.delivery.telegram.types``), and
the domain decides what the update means.
"""

import json

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.api.shared.errors import application_error_response
from apps.core.errors import ApplicationError
from apps.delivery.telegram import services as telegram_services
from apps.delivery.telegram.errors import TelegramUpdateInvalid
from apps.delivery.telegram.types import InboundUpdate, TelegramMessage

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _message(update: dict) -> TelegramMessage | None:
    """The update's ``message`` when it is a text message with a sender and a chat, else None."""
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    text, chat, sender = message.get("text"), message.get("chat"), message.get("from")
    if not isinstance(text, str) or not isinstance(chat, dict) or not isinstance(sender, dict):
        return None
    user_id, chat_id = sender.get("id"), chat.get("id")
    if not _is_int(user_id) or not isinstance(chat_id, int):
        return None
    return TelegramMessage(
        user_id=user_id,
        chat_id=chat_id,
        text=text,
        private=chat.get("type") == "private",
        from_bot=sender.get("is_bot") is True,
    )


def update_parse(body: bytes) -> InboundUpdate:
    """Read a Telegram ``Update`` body. Raises TelegramUpdateInvalid for a body that is not JSON or has no
    integer ``update_id``."""
    try:
        update = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise TelegramUpdateInvalid("The body is not JSON.") from None
    update_id = update.get("update_id") if isinstance(update, dict) else None
    if not _is_int(update_id):
        raise TelegramUpdateInvalid("The body is not a Telegram Update (no integer update_id).")
    return InboundUpdate(update_id=update_id, message=_message(update))


@csrf_exempt
@require_POST
def telegram_webhook(request, channel_id: str) -> JsonResponse:
    try:
        channel = telegram_services.telegram_channel_authenticate(
            channel_id=channel_id, secret=request.headers.get(SECRET_HEADER)
        )
        update = update_parse(request.body)
        outcome = telegram_services.telegram_update_receive(channel=channel, update=update)
    except ApplicationError as error:
        return application_error_response(error)
    return JsonResponse({"ok": True, "outcome": outcome.outcome})
