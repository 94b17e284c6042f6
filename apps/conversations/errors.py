from apps.core.errors import ApplicationError, Conflict, NotFound, RateLimited, ValidationFailed


class SessionNotFound(NotFound):
    code = "session_not_found"
    fix = "Check the session id; create sessions with POST /v1/sessions."


class IdempotencyKeyReused(ApplicationError):
    code = "idempotency_key_reused"
    status = 422
    fix = "Use a new Idempotency-Key for a different request; a key replays only the request it was first used with."


class IdempotencyKeyInFlight(Conflict):
    code = "idempotency_key_in_flight"
    fix = "The first request with this key is still being processed; retry shortly."


class MessageInvalid(ValidationFailed):
    pass


class TooManyPendingTurns(RateLimited):
    """The session (``TURNS_MAX_PENDING_PER_SESSION``) or the app (``TURNS_MAX_PENDING_PER_APP``) already has as
    many unanswered turns as it may; the message was not accepted."""

    code = "too_many_pending_turns"
    retry_after = 2
    fix = "Wait for the character's replies to earlier messages (their run.status events), then send again."


class RunAbandoned(ApplicationError):
    """Every attempt of a turn ended without an outcome (its worker died or crashed): a poison turn."""

    code = "run_abandoned"
    status = 500
    fix = "Send the message again; if it keeps failing, check the worker logs for this run."


class RunNotFound(NotFound):
    code = "run_not_found"
    fix = "Check the run_ref: GET /v1/sessions/{id}/runs lists the session's runs."


class RunContextNotRecorded(NotFound):
    code = "context_not_recorded"
    fix = (
        "Only a reply that succeeded records its context: wait for the run to finish (GET /v1/sessions/{id}/runs), "
        "or pick a newer run; runs older than the trace have none."
    )


class MemoryEditInvalid(ValidationFailed):
    pass
