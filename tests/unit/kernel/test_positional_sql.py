"""`positional`: a report's `:name` statement as asyncpg takes it (SQLAlchemy's compilation of `text()`), read
straight on the driver by `fetch`."""

from __future__ import annotations

from shared.kernel.db import positional


def test_names_become_numbered_parameters_in_the_order_they_first_appear() -> None:
    sql, names = positional("SELECT * FROM t WHERE a BETWEEN :s AND :e AND b = ANY(:codes) AND c <= :e")
    assert sql == "SELECT * FROM t WHERE a BETWEEN $1 AND $2 AND b = ANY($3) AND c <= $2"
    assert names == ("s", "e", "codes")


def test_a_cast_is_not_a_parameter() -> None:
    sql, names = positional("SELECT CAST(:d AS date) + 1, x::text, (:all OR y = ANY(CAST(:before AS text[])))")
    assert sql == "SELECT CAST($1 AS date) + 1, x::text, ($2 OR y = ANY(CAST($3 AS text[])))"
    assert names == ("d", "all", "before")


def test_a_statement_without_parameters_is_unchanged() -> None:
    assert positional("SELECT current_schema() AS s FROM {g}topics t") == (
        "SELECT current_schema() AS s FROM {g}topics t",
        (),
    )
