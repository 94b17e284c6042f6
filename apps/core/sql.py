"""Set-based writes that both database backends accept: a batch of rows as a named, typed table.

A batch written as one statement (``UPDATE ... FROM``, ``INSERT ... SELECT``) needs its rows in the query.
PostgreSQL takes them as one typed array per column (``unnest``), so the SQL text is the same for any
number of rows and every value keeps its type; SQLite has no arrays and takes a ``VALUES`` list. This is the
one place that tells the two apart.
"""

from collections.abc import Sequence
from typing import Any

from django.db import connection, models


def values_cte(*, name: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> tuple[str, list]:
    """SQL for the common table expression ``name(column, ...)`` holding ``rows``, and its parameters.

    ``columns`` are (name, PostgreSQL type) pairs, e.g. ``("slot_at", "timestamptz")``; values must already
    be adapted for the database (``connection.ops.adapt_datetimefield_value`` for datetimes). Use it as
    ``f"WITH {cte} UPDATE ... FROM {name} ..."``. ``rows`` must not be empty.
    """
    assert rows, "values_cte needs at least one row"
    names = ", ".join(column for column, _ in columns)
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{sql_type}[]" for _, sql_type in columns)
        params = [[row[index] for row in rows] for index in range(len(columns))]
        return f"{name}({names}) AS (SELECT * FROM unnest({arrays}))", params
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    params = [value for row in rows for value in row]
    return f"{name}({names}) AS (VALUES {', '.join([placeholders] * len(rows))})", params


class ModelRows:
    """A model's columns for a hand-written ``SELECT`` and its instances built from the rows it returns.

    For reads on a hot path, where building a queryset (or a ``RawQuerySet``, which asks the cursor to
    describe its columns and orders the model's fields again on every query) costs more CPU than the
    statement's round trip. ``columns(alias)`` lists every concrete column, in the model's field order, for
    ``SELECT {columns} ...``; ``instance(row)`` takes the row's first that many values, applies the
    converters Django's compiler would (JSON decoding, SQLite's datetimes) and builds the model as loaded.
    """

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        self.fields = model._meta.concrete_fields
        self._converters: dict[str, list[tuple[int, list, Any]]] = {}

    def columns(self, alias: str) -> str:
        quote = connection.ops.quote_name
        return ", ".join(f"{alias}.{quote(field.column)}" for field in self.fields)

    def _converters_for(self, vendor: str) -> list[tuple[int, list, Any]]:
        converters = self._converters.get(vendor)
        if converters is None:
            converters = []
            for index, field in enumerate(self.fields):
                column = field.get_col(self.model._meta.db_table)
                found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
                if found:
                    converters.append((index, found, column))
            self._converters[vendor] = converters
        return converters

    def instance(self, row: Sequence[Any]) -> models.Model:
        values = list(row[: len(self.fields)])
        for index, found, column in self._converters_for(connection.vendor):
            for converter in found:
                values[index] = converter(values[index], column, connection)
        return self.model.from_db(connection.alias, None, values)
