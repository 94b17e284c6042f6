"""Set-based writes that both database backends accept: a batch of rows as a named, typed table.

A batch written as one statement (``UPDATE ... FROM``, ``INSERT ... SELECT``) needs its rows in the query.
PostgreSQL takes them as one typed array per column (``unnest``), so the SQL text is the same for any
number of rows and every value keeps its type; SQLite has no arrays and takes a ``VALUES`` list. This is the
one place that tells the two apart.
"""

from collections.abc import Sequence
from typing import Any

from django.db import connection


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
