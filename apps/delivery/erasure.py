"""Erasing one end-user of an app everywhere (a GDPR request), in one transaction.

Each app erases its own rows through its own service; this module only orders the calls. It lives in
``delivery`` because delivery is the lowest app allowed to call all of them (the chain is core <- accounts <-
llm <- characters <- assets <- personas, npcs <- conversations <- delivery), and it is reached through
``apps.delivery.services``."""

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import transaction

from apps.accounts import services as accounts_services
from apps.assets import services as assets_services
from apps.conversations import selectors as conversation_selectors
from apps.conversations import services as conversation_services
from apps.delivery.telegram import services as telegram_services
from apps.delivery.webhooks import selectors as webhook_selectors
from apps.delivery.webhooks import services as webhook_services
from apps.npcs import services as npc_services
from apps.personas import services as persona_services

if TYPE_CHECKING:
    from apps.accounts.models import App

EMPTY_BODY_DIGEST = hashlib.sha256(b"").hexdigest()


@dataclass(frozen=True)
class ExternalUserErased:
    """How many rows of each kind were deleted (``erased``) and how many usage rows were kept for billing with the
    user's references replaced (``anonymised``)."""

    erased: dict[str, int] = field(default_factory=dict)
    anonymised: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {"erased": dict(self.erased), "anonymised": dict(self.anonymised)}


def _erase(app: "App", external_user_ref: str) -> ExternalUserErased:
    sessions = conversation_selectors.end_user_sessions_lock(app=app, external_user_ref=external_user_ref)
    session_ids = [session.id for session in sessions]
    persona_ids = [session.persona_session_id for session in sessions if session.persona_session_id]
    # Rows that point at the sessions first, then the sessions, then what the sessions pointed at.
    telegram = telegram_services.telegram_chats_erase(session_ids=session_ids)
    webhooks = webhook_services.webhook_rows_erase(
        app=app, session_ids=session_ids, scopes=[webhook_selectors.persona_scope(pk) for pk in persona_ids]
    )
    conversations = conversation_services.external_user_conversations_erase(
        app=app, external_user_ref=external_user_ref, session_ids=session_ids
    )
    emotion = persona_services.persona_sessions_erase(app=app, session_ids=persona_ids, user_ref=external_user_ref)
    playthroughs = npc_services.playthroughs_erase(app=app, player_session_id=external_user_ref)
    images = assets_services.generated_images_erase(
        app=app, session_ids=session_ids, external_user_ref=external_user_ref
    )
    ledger = accounts_services.external_user_usage_anonymise(
        app=app, external_user_ref=external_user_ref, session_ids=session_ids
    )
    return ExternalUserErased(
        erased={
            "sessions": conversations.sessions,
            "events": conversations.events,
            "runs": conversations.runs,
            "memories": conversations.memories,
            "memory_facts": conversations.facts,
            "emotion_sessions": emotion["sessions"],
            "emotion_relationships": emotion["relationships"],
            "npc_playthroughs": playthroughs,
            "generated_images": images,
            "selfie_day_counts": conversations.selfie_day_counts,
            "budget_policies": ledger["budget_policies"],
            "telegram_chats": telegram["telegram_chats"],
            "telegram_deliveries": telegram["telegram_deliveries"],
            "webhook_endpoints": webhooks["webhook_endpoints"],
            "webhook_deliveries": webhooks["webhook_deliveries"],
            "idempotency_records": conversations.idempotency_records,
        },
        anonymised={"usage_records": ledger["usage_records_anonymised"]},
    )


def external_user_erase(
    *, app: "App", external_user_ref: str, idempotency_key: str | None = None
) -> ExternalUserErased:
    """Erase everything of the app's end-user ``external_user_ref`` in one transaction: sessions with their
    events, runs and proactive sends; what every character knows of them (memories and facts); their emotion
    state; NPC playthroughs; generated pictures (rows, and files after commit); selfie day counts; budget
    policies naming them; Telegram chats bound to their sessions; webhook endpoints of their sessions and
    deliveries carrying their events; Idempotency-Key records of their messages. Usage rows stay for billing,
    anonymised (totals unchanged). Another app's user with the same ref is untouched; a ref with nothing
    erases nothing (all counts zero).

    With ``idempotency_key`` a retry answers the first call's counts; the key's record names the user only by
    a digest of the ref."""
    with transaction.atomic():
        record = None
        if idempotency_key:
            scope = "external_user_erase:" + hashlib.sha256(external_user_ref.encode()).hexdigest()
            claimed = conversation_services.idempotency_claim(
                app=app, key=idempotency_key, scope=scope, fingerprint=EMPTY_BODY_DIGEST
            )
            if isinstance(claimed, dict):
                return ExternalUserErased(**claimed)
            record = claimed
        result = _erase(app, external_user_ref)
        if record is not None:
            conversation_services.idempotency_answer_save(record=record, response=result.as_dict())
    return result
