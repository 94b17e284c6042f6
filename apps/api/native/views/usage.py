"""Usage, the rate card, budgets, the account (plan and balance), and a session's trace."""

from urllib.parse import quote, urlencode

from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from apps.accounts import errors as accounts_errors
from apps.accounts import selectors as accounts_selectors
from apps.accounts import services as accounts_services
from apps.api.native import account_serializers as account_shapes
from apps.api.native import budget_serializers as budgets
from apps.api.native import usage_serializers as shapes
from apps.api.native.envelope import action, envelope
from apps.api.native.serializers import AUTH_ERRORS, BODY_ERRORS, ErrorSerializer, enveloped
from apps.api.shared.validation import validated
from apps.conversations import selectors as conversation_selectors
from apps.delivery import selectors as delivery_selectors
from apps.llm import selectors as llm_selectors

READ_ERRORS = {401: ErrorSerializer, 403: ErrorSerializer, 422: ErrorSerializer}
WRITE_ERRORS = {**BODY_ERRORS, 401: ErrorSerializer, 403: ErrorSerializer}


class RatesApi(APIView):
    @extend_schema(
        operation_id="rates_get",
        responses={200: enveloped("RatesEnvelope", shapes.RatesOutput), **READ_ERRORS},
        description="The rate card: what each chat model's tokens and each image model's pictures cost in credits.",
    )
    def get(self, request):
        data = {
            "unit": "credits",
            "models": [shapes.model_rate_data(rate) for rate in llm_selectors.rate_card_list()],
            "images": shapes.image_rates_data(llm_selectors.image_rate_card_list()),
        }
        return envelope(data, [action("GET /v1/usage?group_by=model", "What your app spent, per model")])


class UsageApi(APIView):
    @extend_schema(
        operation_id="usage_get",
        parameters=[shapes.UsageQuery],
        responses={200: enveloped("UsageEnvelope", shapes.UsageOutput), **READ_ERRORS},
        description="Settled usage (tokens and credits) of your app, in total and grouped by one dimension.",
    )
    def get(self, request):
        params = request.query_params.dict()
        query_serializer = shapes.UsageQuery(data=params)
        query_serializer.is_valid(raise_exception=True)
        query = query_serializer.validated_data
        group_by = query.get("group_by")
        report = accounts_selectors.usage_report(
            app=request.user,
            start=query["start"],
            end=query["end"],
            group_by=group_by,
            filters=query_serializer.filters(),
            limit=query["limit"],
        )
        others = [name for name in accounts_selectors.USAGE_GROUP_COLUMNS if name != group_by][:2]
        return envelope(
            shapes.usage_report_data(report, group_by=group_by, start=query["start"], end=query["end"]),
            [action(f"GET /v1/usage?group_by={name}", f"Usage per {name.replace('_', ' ')}") for name in others]
            + [action("GET /v1/rates", "The rate card the credits come from")],
        )


def _policy_input(request) -> dict:
    return validated(budgets.BudgetPolicyInput, request.data)


def _policy_write(app, external_user_ref: str, data: dict) -> dict:
    """Set the policy, or clear it when ``limit_credits`` is null; answer with the scope's policies."""
    if data["limit_credits"] is None:
        accounts_services.budget_policy_clear(
            app=app, external_user_ref=external_user_ref, resource_type=data["resource_type"]
        )
    else:
        accounts_services.budget_policy_set(
            app=app,
            external_user_ref=external_user_ref,
            resource_type=data["resource_type"],
            limit_credits=data["limit_credits"],
            period=data["period"],
            enforcement=data["enforcement"],
            soft_limit_credits=data["soft_limit_credits"],
        )
    return _policies_data(app, external_user_ref)


def _policies_data(app, external_user_ref: str) -> dict:
    statuses = accounts_selectors.budget_statuses(app=app, external_user_ref=external_user_ref)
    return {
        "external_user_ref": external_user_ref or None,
        "policies": [budgets.budget_status_data(status) for status in statuses],
    }


def _external_user_check(app, external_user_ref: str) -> None:
    """An end-user is known to an app once it has a session there; any other ref (another app's) is a 404."""
    if not conversation_selectors.session_list(app=app, external_user_ref=external_user_ref).exists():
        raise accounts_errors.ExternalUserNotFound(f"No end-user '{external_user_ref}' has a session in this app.")


class ExternalUserBudgetPolicyApi(APIView):
    @extend_schema(
        operation_id="external_user_budget_policy_get",
        responses={
            200: enveloped("ExternalUserBudgetPolicyEnvelope", budgets.BudgetPolicyListOutput),
            **AUTH_ERRORS,
        },
        description="The end-user's budget policies and where they stand in the current period.",
    )
    def get(self, request, external_user_ref: str):
        _external_user_check(request.user, external_user_ref)
        return envelope(
            _policies_data(request.user, external_user_ref),
            [action(f"GET /v1/usage?external_user_ref={quote(external_user_ref)}", "What this end-user spent")],
        )

    @extend_schema(
        operation_id="external_user_budget_policy_set",
        request=budgets.BudgetPolicyInput,
        responses={
            200: enveloped("ExternalUserBudgetPolicySetEnvelope", budgets.BudgetPolicyListOutput),
            **WRITE_ERRORS,
            404: ErrorSerializer,
        },
        description="Cap what one end-user may spend per period (null limit_credits removes the cap).",
    )
    def post(self, request, external_user_ref: str):
        data = _policy_input(request)
        _external_user_check(request.user, external_user_ref)
        return envelope(
            _policy_write(request.user, external_user_ref, data),
            [action(f"GET /v1/external-users/{quote(external_user_ref)}/budget-policy", "Check the cap")],
        )

    @extend_schema(
        operation_id="external_user_budget_policy_delete",
        parameters=[budgets.BudgetPolicyDeleteQuery],
        responses={
            200: enveloped("ExternalUserBudgetPolicyClearedEnvelope", budgets.BudgetPolicyClearedOutput),
            422: ErrorSerializer,
            **AUTH_ERRORS,
        },
    )
    def delete(self, request, external_user_ref: str):
        query = validated(budgets.BudgetPolicyDeleteQuery, request.query_params)
        _external_user_check(request.user, external_user_ref)
        cleared = accounts_services.budget_policy_clear(
            app=request.user, external_user_ref=external_user_ref, resource_type=query.get("resource_type")
        )
        return envelope({"external_user_ref": external_user_ref, "cleared": cleared})


class AppBudgetPolicyApi(APIView):
    @extend_schema(
        operation_id="app_budget_policy_get",
        responses={200: enveloped("AppBudgetPolicyEnvelope", budgets.BudgetPolicyListOutput), **READ_ERRORS},
        description="The app-wide budget policies and where they stand in the current period.",
    )
    def get(self, request):
        return envelope(_policies_data(request.user, ""), [action("GET /v1/usage", "What your app spent")])

    @extend_schema(
        operation_id="app_budget_policy_set",
        request=budgets.BudgetPolicyInput,
        responses={200: enveloped("AppBudgetPolicySetEnvelope", budgets.BudgetPolicyListOutput), **WRITE_ERRORS},
        description="Cap what the whole app may spend per period (null limit_credits removes the cap).",
    )
    def put(self, request):
        data = _policy_input(request)
        return envelope(_policy_write(request.user, "", data), [action("GET /v1/budget-policy", "Check the cap")])

    @extend_schema(
        operation_id="app_budget_policy_delete",
        parameters=[budgets.BudgetPolicyDeleteQuery],
        responses={
            200: enveloped("AppBudgetPolicyClearedEnvelope", budgets.BudgetPolicyClearedOutput),
            **READ_ERRORS,
        },
    )
    def delete(self, request):
        query = validated(budgets.BudgetPolicyDeleteQuery, request.query_params)
        cleared = accounts_services.budget_policy_clear(
            app=request.user, external_user_ref="", resource_type=query.get("resource_type")
        )
        return envelope({"external_user_ref": None, "cleared": cleared})


class SessionTraceApi(APIView):
    @extend_schema(
        operation_id="session_trace",
        parameters=[shapes.TraceQuery],
        responses={200: enveloped("SessionTraceEnvelope", shapes.TraceOutput), 422: ErrorSerializer, **AUTH_ERRORS},
        description=(
            "The session's events, newest first, each with its delivery status per channel and, for a turn's "
            "events, the run's usage."
        ),
    )
    def get(self, request, session_id: str):
        query = validated(shapes.TraceQuery, request.query_params)
        session = conversation_selectors.session_get(app=request.user, session_id=session_id)
        events = conversation_selectors.event_list_newest(
            session_id=session.id, before=query.get("before"), limit=query["limit"] + 1, run_id=query.get("run_ref")
        )
        more = len(events) > query["limit"]
        events = events[: query["limit"]]
        public = [event.as_public_dict() for event in events]
        usage = accounts_selectors.usage_calls_by_run(app_id=session.app_id, run_refs=[e["run_ref"] for e in public])
        pushed = delivery_selectors.deliveries_for_events(
            app=request.user, event_ids=[event["event_id"] for event in public]
        )
        items = [
            {
                "event": event,
                "deliveries": [shapes.IMPLICIT_DELIVERY, *pushed.get(event["event_id"], [])],
                "delivery_status": shapes.push_status(pushed.get(event["event_id"], [])),
                "usage": shapes.run_usage_data(usage.get(event["run_ref"])) if event["run_ref"] else None,
            }
            for event in public
        ]
        next_before = public[-1]["cursor"] if more else None
        next_actions = []
        if next_before is not None:
            kept = {name: query[name] for name in ("limit", "run_ref") if query.get(name)}
            page = urlencode({**kept, "before": next_before})
            next_actions.append(action(f"GET /v1/sessions/{session.id}/trace?{page}", "Older events"))
        next_actions.append(action(f"GET /v1/sessions/{session.id}/runs", "The session's runs with their cost"))
        return envelope({"session_id": session.id, "events": items, "next_before": next_before}, next_actions)


class AccountApi(APIView):
    @extend_schema(
        operation_id="account_get",
        responses={200: enveloped("AccountEnvelope", account_shapes.AccountOutput), **READ_ERRORS},
        description=(
            "Your app's plan (requests per minute per key; every response also carries X-RateLimit-* headers) "
            "and its credit balance, if the operator gave it one (metered requests past it are 402)."
        ),
    )
    def get(self, request):
        balance = accounts_selectors.app_balance(app=request.user)
        return envelope(
            account_shapes.account_data(app=request.user, balance=balance),
            [action("GET /v1/usage", "What your app spent"), action("GET /v1/budget-policy", "Your own caps")],
        )
