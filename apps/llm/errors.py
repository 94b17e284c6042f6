"""Provider errors: transient ones may be retried with backoff, terminal ones may not."""

from apps.core.errors import ApplicationError, NotFound, UpstreamUnavailable


class LLMTransientError(UpstreamUnavailable):
    """Timeouts, connection failures, 429 and 5xx answers: retry with backoff."""

    code = "llm_unavailable"


class LLMTerminalError(ApplicationError):
    """The provider refused the request (4xx other than 429) or answered with unusable data."""

    code = "llm_error"
    status = 502
    fix = "Check the model configuration (base URL, key, model name) in the admin's model catalog."


class LLMUnusableJSON(LLMTerminalError):
    """Asked for a JSON object, the model answered with something else. ``result`` keeps the answer as text
    with its usage, so a caller that can live with prose (a reply whose structured fields are optional) uses
    it instead of failing, and the call is still metered."""

    def __init__(self, message: str, *, result=None) -> None:
        super().__init__(message)
        self.result = result


class ModelNotFound(NotFound):
    code = "model_not_found"
    fix = "Use a model listed in the admin's model catalog."


class LLMOwnKeyRefused(LLMTerminalError):
    """The provider refused a call made on the caller's own key (bring-your-own-key: a bad or revoked key, a
    model that key may not use). The caller's request is what is wrong, so it answers 400 rather than the
    platform's 502; ``details["upstream_status"]`` is the provider's HTTP status."""

    code = "llm_key_refused"
    status = 400
    fix = "Check the provider key and model sent with the request."
