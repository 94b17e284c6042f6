"""Hot reads and inserts whose SQL Django compiles once per process instead of once per call.

Turning a queryset into SQL (joins, select lists, lookups, converters) is pure Python work that Django
repeats on every evaluation. For a fixed-shape read on the turn's hot path it costs more than running the
query: the worker's run read (a run with its session, app, character version and emotion session) took
~0.75 ms of CPU to compile and ~0.1 ms to run. ``CompiledRead`` compiles such a queryset once per database
alias with marker values in place of its parameters (and works out its columns' converters once), then runs
the same SQL text with the real values and lets Django build the results as usual (model instances with
their ``select_related`` objects, or the tuples of ``values_list``). Same SQL text every time also means
PostgreSQL can keep it prepared. ``CompiledInsert`` does the same for the rows a turn appends.

Only for querysets whose shape never changes with the values: the builder may use its arguments only as
lookup values (no branches, no ``__in`` lists of varying length, no slices that depend on them).
"""

import copy
import threading
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections, router
from django.db.models import QuerySet


class CompiledRead:
    """``build(*markers)`` compiled once per database alias; ``fetch(*values)`` runs it with ``values``.

    ``markers`` are placeholder values of the right types (a string for a text column, an int for an integer
    one), each distinct from every other parameter of the query, so their positions among the compiled
    parameters can be found; ``fetch`` puts the real values there.
    """

    def __init__(self, build: Callable[..., QuerySet], *, markers: Sequence[Any]) -> None:
        self._build = build
        self._markers = tuple(markers)
        self._compiled: dict[str, tuple[QuerySet, Any, str, tuple, list[tuple[int, Callable]], dict, bool]] = {}
        self._lock = threading.Lock()
        self._model = None

    def _compile(self, alias: str) -> tuple[QuerySet, Any, str, tuple, list[tuple[int, Callable]], dict, bool]:
        compiled = self._compiled.get(alias)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(alias)
                if compiled is None:
                    queryset = self._build(*self._markers).using(alias)
                    compiler = queryset.query.get_compiler(using=alias)
                    sql, params = compiler.as_sql()
                    slots = [_marker_slot(params, marker) for marker in self._markers]
                    # The columns' converters (JSON decoding, dates...) are the same for every run of the same
                    # select list; Django would work them out again, expression by expression, on each one.
                    columns = [column[0] for column in compiler.select[: compiler.col_count]]
                    converters = compiler.get_converters(columns)
                    composite = compiler.has_composite_fields(columns)
                    compiled = (queryset, compiler, sql, tuple(params), slots, converters, composite)
                    self._compiled[alias] = compiled
        return compiled

    def fetch(self, *values: Any) -> list:
        """The query's results for ``values`` (given in the order of the markers)."""
        if self._model is None:
            self._model = self._build(*self._markers).model
        alias = router.db_for_read(self._model)
        queryset, compiler, sql, params, slots, converters, composite = self._compile(alias)
        bound = list(params)
        for (slot, adapt), value in zip(slots, values, strict=True):
            bound[slot] = adapt(value)
        # A shallow copy of the compiled compiler keeps what compiling worked out (the select list, the
        # related-object layout, the column count) and answers the SQL with this call's values, on this
        # thread's connection (connections are per thread: the compiling thread's is not ours to use).
        run = copy.copy(compiler)
        run.connection = connections[alias]
        run.as_sql = lambda *args, **kwargs: (sql, bound)
        run.get_converters = lambda expressions: converters
        run.has_composite_fields = lambda expressions: composite
        clone = queryset.all()
        clone.query.get_compiler = lambda *args, **kwargs: run
        return list(clone)


def _as_given(value: Any) -> Any:
    return value


def _marker_slot(params: list, marker: Any) -> tuple[int, Callable[[Any], Any]]:
    """Where ``marker`` sits among the compiled parameters, and how a real value must be adapted to take its
    place: as given, or as text where the backend adapts the type to text (SQLite's dates and times)."""
    for form, adapt in ((marker, _as_given), (str(marker), str)):
        if params.count(form) == 1:
            return params.index(form), adapt
    raise ValueError("each marker must appear exactly once among the query's parameters")


class CompiledInsert:
    """``Model.objects.bulk_create(objs)`` for a hot path, with its SQL text built once per database alias and
    row count instead of on every call.

    Django's bulk insert re-derives the field list, the placeholders and the ``RETURNING`` clause each time;
    for the one or two rows a turn appends (its events, its usage) that costs more CPU than the INSERT itself.
    Values still go through each field's ``pre_save`` and ``get_db_prep_save``, exactly as ``bulk_create``
    prepares them (``auto_now_add``, JSON adaptation, prefixed ids made by defaults), and database-made
    primary keys come back through ``RETURNING`` in row order, as ``bulk_create`` sets them. No signals (as
    ``bulk_create``); no conflict handling (callers that need it use ``bulk_create``).
    """

    def __init__(self, model: type) -> None:
        self._model = model
        meta = model._meta
        self._auto_pk = meta.pk if meta.pk.db_returning else None
        self._fields = [field for field in meta.concrete_fields if field is not self._auto_pk]
        self._sql: dict[tuple[str, int], str] = {}

    def _statement(self, alias: str, rows: int) -> str:
        sql = self._sql.get((alias, rows))
        if sql is None:
            connection = connections[alias]
            quote = connection.ops.quote_name
            columns = ", ".join(quote(field.column) for field in self._fields)
            row = "(" + ", ".join(["%s"] * len(self._fields)) + ")"
            sql = f"INSERT INTO {quote(self._model._meta.db_table)} ({columns}) VALUES {', '.join([row] * rows)}"
            if self._auto_pk is not None:
                sql += f" RETURNING {quote(self._auto_pk.column)}"
            self._sql[(alias, rows)] = sql
        return sql

    def insert(self, objs: Sequence[Any]) -> list:
        """Insert ``objs`` (unsaved instances of the model) in one statement; return them saved."""
        if not objs:
            return []
        alias = router.db_for_write(self._model)
        connection = connections[alias]
        if self._auto_pk is not None and not connection.features.can_return_rows_from_bulk_insert:
            return self._model._default_manager.using(alias).bulk_create(objs)
        params = [
            field.get_db_prep_save(field.pre_save(obj, True), connection=connection)
            for obj in objs
            for field in self._fields
        ]
        with connection.cursor() as cursor:
            cursor.execute(self._statement(alias, len(objs)), params)
            returned = cursor.fetchall() if self._auto_pk is not None else ()
        for obj, row in zip(objs, returned, strict=False):
            setattr(obj, self._auto_pk.attname, row[0])
        for obj in objs:
            obj._state.adding = False
            obj._state.db = alias
        return list(objs)
