"""Metering turns: the budget gate of a send, and the credits a run reserves before its model call and
settles after it. The ledger and the budgets are the accounts app's; this module says what a turn is
(its resource type, end-user, character, model) and what it costs at the model's rate."""

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING

from apps.accounts import selectors as accounts_selectors
from apps.accounts import services as accounts_services
from apps.accounts.types import ResourceType, UsagePurpose
from apps.conversations.models import Run, Session
from apps.conversations.services.events import NewEvent
from apps.core.errors import ApplicationError
from apps.llm import selectors as llm_selectors
from apps.llm.types import ChatMessage, ModelSpec, Usage

if TYPE_CHECKING:
    from apps.accounts.models import App, UsageRecord


def _resource_type(run: Run) -> str:
    """A turn answering an end-user's message is a chat turn; one the character starts is proactive."""
    return ResourceType.CHAT_TURN if run.kind == Run.Kind.REPLY else ResourceType.PROACTIVE_TURN


def message_budget_check(*, app: "App", session_id: str, text: str) -> None:
    """Refuse a send with BudgetExceeded (402) when a hard budget has no room for the reply, before
    anything is written. One indexed query for apps without budgets.

    The bound used is the reply at the model's ``max_tokens`` plus the message itself; the run then
    reserves its whole prompt, so a turn that fits here can still be refused there (as ``run.failed``).
    """
    if not accounts_selectors.budget_policies_exist(app=app):
        return
    session = Session.objects.filter(app=app, pk=session_id).select_related("character_version").first()
    if session is None:
        return  # the send itself answers 404
    try:
        spec = llm_selectors.model_spec_get(name=session.model or session.character_version.content.get("model"))
    except ApplicationError:
        return  # the run fails on the model name and reserves nothing
    floor = spec.credits_upper_bound([ChatMessage("user", text)])
    accounts_services.budget_preflight(
        app=app, external_user_ref=session.external_user_ref, resource_type=ResourceType.CHAT_TURN, credits=floor
    )


@dataclass(frozen=True)
class MeteredCall:
    """A model call of a run as the ledger knows it: its subject and reservation (None when no budget applied,
    so nothing was written before the call), and the most it could cost."""

    subject: accounts_services.UsageSubject
    reservation: "UsageRecord | None"
    reserved_credits: Decimal
    spec: ModelSpec


def call_reserve(
    *, run: Run, spec: ModelSpec, messages: list[ChatMessage], purpose: str = UsagePurpose.REPLY
) -> MeteredCall:
    """Reserve the most one model call of the run can cost, on every budget that applies (committed before
    the call). Costs no statement for an app without budgets (their existence is cached).

    Raises BudgetExceeded when a hard budget has no room; the run then fails with that code and the model
    is not called. A run taken over from a dead worker keeps its first reservation.
    """
    session = run.session
    subject = accounts_services.UsageSubject(
        app_id=session.app_id,
        resource_type=_resource_type(run),
        external_user_ref=session.external_user_ref,
        session_id=session.id,
        character=session.character_version.content.get("slug", ""),
        run_ref=run.id,
        model=spec.name,
        provider=spec.provider,
        purpose=purpose,
    )
    credits = spec.credits_upper_bound(messages)
    # Only a later attempt (a retry, or a takeover from a dead worker) can find its run's reservation made.
    reservation = accounts_services.usage_reserve(subject=subject, credits=credits, may_exist=run.attempts > 1)
    return MeteredCall(subject, reservation, credits, spec)


def run_usage_reserve(*, run: Run, spec: ModelSpec, messages: list[ChatMessage]) -> MeteredCall:
    """``call_reserve`` for the run's reply."""
    return call_reserve(run=run, spec=spec, messages=messages)


@dataclass(frozen=True)
class CallOutcome:
    """What one metered call came to: the usage the provider reported (None for a call that failed or was
    never made, whose tokens are unknown)."""

    call: MeteredCall
    usage: Usage | None
    outcome: str
    model: str = ""


def session_call_reserve(
    *, session: Session, spec: ModelSpec, messages: list[ChatMessage], purpose: str
) -> MeteredCall:
    """``call_reserve`` for a model call outside any run (an NPC turn's evaluation and reply): the same
    subject and budgets, as a chat turn of the session's end-user; no run reference, so nothing to resume."""
    subject = accounts_services.UsageSubject(
        app_id=session.app_id,
        resource_type=ResourceType.CHAT_TURN,
        external_user_ref=session.external_user_ref,
        session_id=session.id,
        character=session.character_version.content.get("slug", ""),
        model=spec.name,
        provider=spec.provider,
        purpose=purpose,
    )
    return _reserved(subject, spec, messages)


def _reserved(subject: accounts_services.UsageSubject, spec: ModelSpec, messages: list[ChatMessage]) -> MeteredCall:
    """Reserve the most a first (never resumed) call of ``subject`` can cost."""
    credits = spec.credits_upper_bound(messages)
    reservation = accounts_services.usage_reserve(subject=subject, credits=credits, may_exist=False)
    return MeteredCall(subject, reservation, credits, spec)


def run_usage_settle(*, run: Run, outcomes: list[CallOutcome]) -> list[NewEvent]:
    """Settle the run's calls at their models' rates and return the ``budget.warning`` events for thresholds
    crossed, for the caller to append with the run's other events. Call inside the transaction that records
    the run's outcome; for an app without budgets it costs one INSERT for all the calls."""
    return calls_settle(outcomes=outcomes, run_id=run.id)


def calls_settle(*, outcomes: list[CallOutcome], run_id: str | None = None) -> list[NewEvent]:
    """``run_usage_settle`` for calls of a run (``run_id``) or of none (an NPC turn's)."""
    calls = []
    for item in outcomes:
        usage = item.usage or Usage()
        credits = (
            item.call.spec.credits_for(input_tokens=usage.prompt_tokens, output_tokens=usage.completion_tokens)
            if item.usage is not None
            else Decimal(0)
        )
        subject = replace(item.call.subject, model=item.model) if item.model else item.call.subject
        calls.append(
            accounts_services.UsageCall(
                subject=subject,
                reservation=item.call.reservation,
                reserved_credits=item.call.reserved_credits,
                input_tokens=usage.prompt_tokens,
                output_tokens=usage.completion_tokens,
                credits=credits,
                outcome=item.outcome,
            )
        )
    if not calls:
        return []
    settlement = accounts_services.usage_settle_calls(calls=calls)
    return [
        NewEvent(
            "budget.warning",
            {
                "scope": "external_user" if warning.policy.external_user_ref else "app",
                "external_user_ref": warning.policy.external_user_ref or None,
                "resource_type": warning.policy.resource_type,
                "period": warning.policy.period,
                "period_start": warning.period_start.isoformat(),
                "enforcement": warning.policy.enforcement,
                "limit_credits": float(warning.policy.limit_credits),
                "threshold_credits": float(warning.threshold),
                "spent_credits": float(warning.spent_credits),
                "run_ref": run_id,
            },
            run_id=run_id,
        )
        for warning in settlement.warnings
    ]


def app_call_reserve(
    *, app_id: str, external_user_ref: str, spec: ModelSpec, messages: list[ChatMessage], purpose: str
) -> MeteredCall:
    """``call_reserve`` for a model call of no session (the persona API's appraisal): the app's budgets, and the
    end-user's when the caller names one."""
    subject = accounts_services.UsageSubject(
        app_id=app_id,
        resource_type=ResourceType.CHAT_TURN,
        external_user_ref=external_user_ref,
        model=spec.name,
        provider=spec.provider,
        purpose=purpose,
    )
    return _reserved(subject, spec, messages)
