"""Value rules shared by validation and typing: blanks, numbers, ranges and category spellings.

Raw values are strings as read. The same expressions decide whether a row is quarantined
(:mod:`custseg.quarantine`) and what its typed values are, so the two can never disagree.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StringType

from custseg.config import ColumnsConfig

UNKNOWN_LEVEL = "(unknown)"
UNSEEN_COL = "unseen_values"


# Blanks trimmed from both ends: what Java's \s matches, so tabs and stray carriage returns too
# (F.trim takes spaces only). btrim costs half of the equivalent regular expression.
_BLANKS = " \t\n\u000b\f\r"


def text(column: Column) -> Column:
    """Trimmed text; empty and blank strings are missing (null), like nulls."""
    trimmed = F.btrim(column.cast(StringType()), F.lit(_BLANKS))
    return F.when(trimmed == "", None).otherwise(trimmed)


def as_text(raw: DataFrame, names: list[str]) -> DataFrame:
    """``raw`` with the named columns replaced by their :func:`text`, the input of :func:`parse_values`.

    Trimming once, in its own projection, keeps the rules' expressions small: nested in every
    rule, the trimming made query planning take seconds.
    """
    return raw.withColumns({name: text(F.col(name)) for name in names})


def parse_values(texts: DataFrame, columns: ColumnsConfig) -> DataFrame:
    """``texts`` (:func:`as_text`) plus each numeric column's :func:`number` and each declared column's :func:`level`.

    Parsed once, in their own projection, for the checks and the typing to read. Nested in the
    checks' and the typing's expressions, the parsing made the read's generated method 11,436 bytes
    of bytecode, over the 8,000 that HotSpot compiles, and the read ran interpreted: 89.6 s instead
    of 70.4 s for 10M customers on 2 cores (``scale.py``, RESULTS.md).
    """
    declared = {**columns.ordinal, **columns.levels}
    parsed = {number_col(name): number(F.col(name)) for name in columns.numeric}
    parsed.update({level_col(name): level(F.col(name), levels) for name, levels in declared.items()})
    return texts.withColumns(parsed)


def number_col(name: str) -> str:
    """The column of :func:`parse_values` that holds a numeric column's number."""
    return f"__number_{name}"


def level_col(name: str) -> str:
    """The column of :func:`parse_values` that holds a declared column's level."""
    return f"__level_{name}"


def number(value: Column) -> Column:
    """The text as a finite double; null when missing or not a plain number (``"abc"``, ``"3,5"``, ``"NaN"``)."""
    parsed = value.try_cast(DoubleType())
    # NaN and infinities parse but would poison the imputer's median and the scaler's mean.
    finite = ~F.isnan(parsed) & (F.abs(parsed) != float("inf"))
    return F.when(finite, parsed)


def level(value: Column, levels: list[str]) -> Column:
    """The declared level spelled as in the config, matched on the lower-cased text; null when missing or unknown.

    The config's validation keeps the lower-cased levels distinct, as the map's keys must be.
    """
    lookup = F.create_map(*[F.lit(text) for declared in levels for text in (declared.strip().lower(), declared)])
    return lookup[F.lower(value)]


def unparseable(name: str) -> Column:
    """True where a numeric column's text is present but is not a finite number."""
    return F.col(name).isNotNull() & F.col(number_col(name)).isNull()


def outside(name: str, bounds: list[float]) -> Column:
    """True where a numeric column's number lies outside the inclusive ``[min, max]``; null-safe (missing is inside)."""
    parsed = F.col(number_col(name))
    return F.coalesce((parsed < bounds[0]) | (parsed > bounds[1]), F.lit(False))


def typed_customers(values: DataFrame, *, columns: ColumnsConfig, keep: tuple[str, ...] = ()) -> DataFrame:
    """:func:`parse_values` columns -> ids and categories as clean strings, numbers as doubles, plus :data:`UNSEEN_COL`.

    Meant for rows that passed validation; a value that fails anyway becomes null rather than a crash.
    An unknown ordinal level becomes null (imputed like a missing one), an unknown nominal level
    :data:`UNKNOWN_LEVEL`. The columns named in ``keep`` pass through unchanged.
    """
    declared = {**columns.ordinal, **columns.levels}
    typed = [F.col(columns.id)]
    typed += [F.col(number_col(name)).alias(name) for name in columns.numeric]
    typed += [F.col(level_col(name)).alias(name) for name in columns.ordinal]
    typed += [_nominal(name, name in columns.levels).alias(name) for name in columns.nominal]
    if columns.label:
        typed.append(F.col(columns.label))
    counted = sum((_unseen(name) for name in declared), F.lit(0))
    return values.select(*typed, counted.alias(UNSEEN_COL), *keep)


def _nominal(name: str, declared: bool) -> Column:
    if not declared:
        return F.col(name)
    return F.when(F.col(name).isNull(), None).otherwise(F.coalesce(F.col(level_col(name)), F.lit(UNKNOWN_LEVEL)))


def _unseen(name: str) -> Column:
    """1 where a declared column's text is present but matches none of its levels, else 0."""
    return F.when(F.col(name).isNotNull() & F.col(level_col(name)).isNull(), 1).otherwise(0)
