"""Request and response shapes of the native surface's usage, rates, budgets and trace endpoints,
and the functions that turn the domain's objects into them."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.selectors import USAGE_GROUP_COLUMNS, UsageReport, UsageTotals
from apps.accounts.types import (
    ResourceType,
    UsagePurpose,
)
from apps.api.native.serializers import EventSerializer
from apps.llm.types import ImageRate, ModelRate, credits_quantize

if TYPE_CHECKING:
    from apps.accounts.models import UsageRecord

MAX_CREDITS = 1_000_000_000  # well inside the ledger columns (12 integer digits)
RESOURCE_TYPES = [choice for choice, _ in ResourceType.choices]


def credits_number(value: Decimal | None) -> float | None:
    """Credits go out as JSON numbers (six decimal places at most)."""
    return None if value is None else float(value)


# --- rates -------------------------------------------------------------------------------------------
class ModelRateOutput(serializers.Serializer):
    model = serializers.CharField(help_text="The name characters and requests use.")
    provider = serializers.CharField()
    input_credits_per_1k_tokens = serializers.FloatField()
    output_credits_per_1k_tokens = serializers.FloatField()
    input_credits_per_1m_tokens = serializers.FloatField()
    output_credits_per_1m_tokens = serializers.FloatField()
    max_tokens = serializers.IntegerField(help_text="Reply cap; a turn reserves credits for this many output tokens.")
    is_default = serializers.BooleanField()


class ImageModelRateOutput(serializers.Serializer):
    model = serializers.CharField(help_text="The image model's name in the catalog (`builtin`: the offline renderer).")
    provider = serializers.CharField(help_text="builtin | automatic1111 | comfyui | openai_images")
    credits_per_image = serializers.FloatField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    is_default = serializers.BooleanField(help_text="The model selfies and probes draw with.")


class ImageRateOutput(serializers.Serializer):
    credits_per_image = serializers.FloatField(help_text="What one picture of the default image model costs.")
    models = ImageModelRateOutput(many=True, help_text="Every active image model and what one picture costs.")


class RatesOutput(serializers.Serializer):
    unit = serializers.CharField(default="credits")
    models = ModelRateOutput(many=True)
    images = ImageRateOutput()


def model_rate_data(rate: ModelRate) -> dict:
    return {
        "model": rate.model,
        "provider": rate.provider,
        "input_credits_per_1k_tokens": float(rate.input_credits_per_1k),
        "output_credits_per_1k_tokens": float(rate.output_credits_per_1k),
        "input_credits_per_1m_tokens": float(rate.input_credits_per_1k * 1000),
        "output_credits_per_1m_tokens": float(rate.output_credits_per_1k * 1000),
        "max_tokens": rate.max_tokens,
        "is_default": rate.is_default,
    }


def image_rates_data(rates: list[ImageRate]) -> dict:
    """The image part of the rate card: the default model's price per picture (the field clients already
    read), then every image model."""
    default = next((rate for rate in rates if rate.is_default), None)
    return {
        "credits_per_image": float(default.credits_per_image) if default else 0.0,
        "models": [
            {
                "model": rate.model,
                "provider": rate.provider,
                "credits_per_image": float(rate.credits_per_image),
                "width": rate.width,
                "height": rate.height,
                "is_default": rate.is_default,
            }
            for rate in rates
        ],
    }


# --- usage -------------------------------------------------------------------------------------------
@extend_schema_field({"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]})
class DateOrDateTimeField(serializers.Field):
    """An ISO date (``2026-11-01``, a whole UTC day) or date-time (``2026-11-01T12:00:00Z``, UTC if no offset)."""

    default_error_messages = {"invalid": "Use an ISO date (2026-11-01) or date-time (2026-11-01T12:00:00Z)."}

    def to_internal_value(self, data) -> date | datetime:
        text = str(data).upper()  # RFC 3339 allows a lowercase t and z
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            parsed = datetime.fromisoformat(text)
            # In UTC: the database need not take odd offsets (-20:15 is valid ISO 8601).
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        except (ValueError, OverflowError):
            self.fail("invalid")

    def to_representation(self, value):
        return value.isoformat()


def _range_start(value: date | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.combine(value, time.min, tzinfo=UTC)


def _range_end(value: date | datetime | None) -> datetime | None:
    """``to`` is inclusive for a date (the whole day) and exclusive for a date-time."""
    if value is None or isinstance(value, datetime):
        return value
    if value == date.max:
        return None  # the end of time: no upper bound
    return datetime.combine(value + timedelta(days=1), time.min, tzinfo=UTC)


class UsageQuery(serializers.Serializer):
    group_by = serializers.ChoiceField(choices=list(USAGE_GROUP_COLUMNS), required=False)
    to = DateOrDateTimeField(required=False, help_text="Until this date (inclusive) or date-time (exclusive), UTC.")
    # Filters match exactly, spaces included: a value no row has filters to empty totals, never a 422.
    external_user_ref = serializers.CharField(required=False, max_length=256, trim_whitespace=False)
    character = serializers.CharField(
        required=False, max_length=128, trim_whitespace=False, help_text="A character slug."
    )
    session_id = serializers.CharField(required=False, max_length=40, trim_whitespace=False)
    resource_type = serializers.ChoiceField(choices=RESOURCE_TYPES, required=False)
    model = serializers.CharField(required=False, max_length=200, trim_whitespace=False)
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=100, help_text="At most this many groups.")

    def get_fields(self):
        fields = super().get_fields()
        # ``from`` is a Python keyword, so it cannot be declared as an attribute.
        fields["from"] = DateOrDateTimeField(required=False, help_text="From this date or date-time (inclusive), UTC.")
        return fields

    def validate(self, attrs):
        # A range that ends before it starts is empty (zero totals), not an error.
        attrs["start"], attrs["end"] = _range_start(attrs.pop("from", None)), _range_end(attrs.pop("to", None))
        return attrs

    def filters(self) -> dict[str, str]:
        names = {"external_user_ref": "external_user", "session_id": "session"}
        data = self.validated_data
        wanted = ("external_user_ref", "character", "session_id", "resource_type", "model")
        return {names.get(name, name): data[name] for name in wanted if data.get(name)}


class UsageTotalsOutput(serializers.Serializer):
    records = serializers.IntegerField(help_text="Settled runs (and, later, images).")
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()
    credits = serializers.FloatField()


class UsageGroupOutput(UsageTotalsOutput):
    key = serializers.CharField(help_text="The group's value: a model name, slug, session id, end-user ref...")


class UsageOutput(serializers.Serializer):
    group_by = serializers.CharField(allow_null=True)
    from_ = serializers.DateTimeField(allow_null=True)
    to = serializers.DateTimeField(allow_null=True)
    totals = UsageTotalsOutput()
    groups = UsageGroupOutput(many=True)
    truncated = serializers.BooleanField(help_text="More groups than ?limit= exist; the totals count them all.")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


def _totals_data(totals: UsageTotals) -> dict:
    return {
        "records": totals.records,
        "input_tokens": totals.input_tokens,
        "output_tokens": totals.output_tokens,
        "total_tokens": totals.input_tokens + totals.output_tokens,
        "credits": float(credits_quantize(totals.credits)),
    }


def usage_report_data(report: UsageReport, *, group_by: str | None, start, end) -> dict:
    return {
        "group_by": group_by,
        "from": start,
        "to": end,
        "totals": _totals_data(report.totals),
        "groups": [{"key": group.key or "", **_totals_data(group)} for group in report.groups],
        "truncated": report.truncated,
    }


class UsageCallOutput(serializers.Serializer):
    purpose = serializers.ChoiceField(
        choices=UsagePurpose.choices, help_text="Which model call: the emotion appraisal or the reply."
    )
    status = serializers.ChoiceField(choices=["reserved", "settled"])
    outcome = serializers.CharField(help_text="succeeded or failed, once settled.")
    model = serializers.CharField()
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    reserved_credits = serializers.FloatField()
    credits = serializers.FloatField()


class RunUsageOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["reserved", "settled"])
    resource_type = serializers.CharField()
    model = serializers.CharField()
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    reserved_credits = serializers.FloatField()
    credits = serializers.FloatField(help_text="What the run cost (all its model calls); 0 until settled.")
    settled_at = serializers.DateTimeField(allow_null=True)
    calls = UsageCallOutput(
        many=True,
        help_text="Each metered model call of the run, in order: a model appraisal of the message (when "
        "EMOTION_APPRAISER uses a model), then the reply.",
    )


def _call_data(record: "UsageRecord") -> dict:
    return {
        "purpose": record.purpose,
        "status": record.status,
        "outcome": record.outcome,
        "model": record.model,
        "input_tokens": record.input_tokens,
        "output_tokens": record.output_tokens,
        "reserved_credits": float(record.reserved_credits),
        "credits": float(record.credits),
    }


def run_usage_data(calls: "list[UsageRecord] | None") -> dict | None:
    """A run's usage from its ledger rows (one per model call): the reply's row, with the run's totals."""
    if not calls:
        return None
    record = next((row for row in calls if row.purpose == UsagePurpose.REPLY), calls[-1])
    return {
        "status": record.status,
        "resource_type": record.resource_type,
        "model": record.model,
        "input_tokens": sum(row.input_tokens for row in calls),
        "output_tokens": sum(row.output_tokens for row in calls),
        "reserved_credits": float(sum(row.reserved_credits for row in calls)),
        "credits": float(sum(row.credits for row in calls)),
        "settled_at": record.settled_at,
        "calls": [_call_data(row) for row in calls],
    }


# --- trace -------------------------------------------------------------------------------------------
class TraceQuery(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=200, default=50)
    before = serializers.IntegerField(min_value=1, required=False, help_text="Only events with a lower cursor.")
    run_ref = serializers.CharField(required=False, max_length=40, help_text="Only this run's events.")


class DeliveryStatusOutput(serializers.Serializer):
    channel_id = serializers.CharField(allow_null=True)
    kind = serializers.CharField(help_text="sse (polling and streams read the log: always available), webhook, ...")
    status = serializers.CharField()
    attempts = serializers.IntegerField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)


# Polling and SSE read the event log itself: every committed event is available to them.
IMPLICIT_DELIVERY = {
    "channel_id": None,
    "kind": "sse",
    "status": "available",
    "attempts": None,
    "last_status_code": None,
    "delivered_at": None,
}


def push_status(rows: list[dict]) -> str | None:
    """One word for an event's push deliveries: null without any, else failed, pending or delivered."""
    if not rows:
        return None
    statuses = {row["status"] for row in rows} - {"skipped", "cancelled"}  # nothing left to deliver there
    if "failed" in statuses:
        return "failed"
    if "pending" in statuses:
        return "pending"
    return "delivered"


class TraceEventOutput(serializers.Serializer):
    event = EventSerializer()
    deliveries = DeliveryStatusOutput(many=True)
    delivery_status = serializers.ChoiceField(
        choices=["delivered", "pending", "failed"],
        allow_null=True,
        help_text="Over the push channels (webhooks, Telegram): null when the event has none.",
    )
    usage = RunUsageOutput(allow_null=True, help_text="The settled usage of the run the event belongs to.")


class TraceOutput(serializers.Serializer):
    session_id = serializers.CharField()
    events = TraceEventOutput(many=True)
    next_before = serializers.IntegerField(allow_null=True, help_text="Pass as ?before= for older events.")
