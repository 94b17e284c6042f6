"""The abstract base every domain model uses: a prefixed string id and timestamps."""

from django.db import models

from apps.core.ids import PrefixedId


def prefixed_id_field(prefix: str) -> models.CharField:
    """A primary key like ``char_0a1b...``: the id integrators see is the row's key, no mapping table."""
    return models.CharField(primary_key=True, max_length=40, default=PrefixedId(prefix), editable=False)


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
