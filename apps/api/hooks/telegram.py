"""``POST /hooks/telegram/<channel id>``: where a connected bot's webhook points.

Telegram sends each Update as JSON with the ``X-Telegram-Bot-Api-Secret-Token`` header registered by
setWebhook. Any 2xx tells Telegram the update arrived; anything else makes it retry the same update.
So a wrong or missing secret is refused (403/401, in the house error shape, the native surface's), and
everything properly authenticated is acknowledged with 200, including updates we ignore and messages the
pipeline refused.
"""

import json

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.api.shared.errors import application_error_response
from apps.core.errors import ApplicationError
from apps.delivery.telegram import inbound
from apps.delivery.telegram.errors import TelegramUpdateInvalid

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@csrf_exempt
@require_POST
def telegram_webhook(request, channel_id: str) -> JsonResponse:
    try:
        channel = inbound.telegram_channel_authenticate(
            channel_id=channel_id, secret=request.headers.get(SECRET_HEADER)
        )
        try:
            update = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            raise TelegramUpdateInvalid("The body is not JSON.") from None
        outcome = inbound.telegram_update_receive(channel=channel, update=update)
    except ApplicationError as error:
        return application_error_response(error)
    return JsonResponse({"ok": True, "outcome": outcome.outcome})
