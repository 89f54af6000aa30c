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
    """``raw`` with the named columns replaced by their :func:`text`, the input of every rule below.

    Trimming once, in its own projection, keeps the rules' expressions small: nested in every
    rule, the trimming made query planning take seconds.
    """
    return raw.withColumns({name: text(F.col(name)) for name in names})


def number(value: Column) -> Column:
    """The text as a finite double; null when missing or not a plain number (``"abc"``, ``"3,5"``, ``"NaN"``)."""
    parsed = value.try_cast(DoubleType())
    # NaN and infinities parse but would poison the imputer's median and the scaler's mean.
    finite = ~F.isnan(parsed) & (F.abs(parsed) != float("inf"))
    return F.when(finite, parsed)


def unparseable(value: Column) -> Column:
    """True where a text is present but is not a finite number."""
    return value.isNotNull() & number(value).isNull()


def outside(value: Column, bounds: list[float]) -> Column:
    """True where a text's number lies outside the inclusive ``[min, max]``; null-safe (missing is inside)."""
    parsed = number(value)
    return F.coalesce((parsed < bounds[0]) | (parsed > bounds[1]), F.lit(False))


def category(value: Column, levels: list[str], *, unknown: str | None) -> Column:
    """The declared level spelled as in the config, matched on the lower-cased text.

    A present value that matches no level becomes ``unknown`` (null for ordinal columns, whose
    unknown values are imputed like missing ones).
    """
    spelled = F.lit(None).cast(StringType())
    for level in reversed(levels):
        spelled = F.when(F.lower(value) == level.strip().lower(), F.lit(level)).otherwise(spelled)
    return F.when(value.isNull(), None).otherwise(F.coalesce(spelled, F.lit(unknown).cast(StringType())))


def unseen(value: Column, levels: list[str]) -> Column:
    """1 where a text is present but matches none of the declared levels, else 0."""
    known = F.lower(value).isin([level.strip().lower() for level in levels])
    return F.when(value.isNotNull() & ~known, 1).otherwise(0)


def typed_customers(raw: DataFrame, *, columns: ColumnsConfig, keep: tuple[str, ...] = ()) -> DataFrame:
    """:func:`as_text` columns -> ids and categories as clean strings, numbers as doubles, plus :data:`UNSEEN_COL`.

    Meant for rows that passed validation; a value that fails anyway becomes null rather than a crash.
    The columns named in ``keep`` pass through unchanged.
    """
    declared = {**columns.ordinal, **columns.levels}
    typed = [F.col(columns.id)]
    typed += [number(F.col(name)).alias(name) for name in columns.numeric]
    typed += [category(F.col(name), levels, unknown=None).alias(name) for name, levels in columns.ordinal.items()]
    typed += [_nominal(name, columns.levels.get(name)).alias(name) for name in columns.nominal]
    if columns.label:
        typed.append(F.col(columns.label))
    counted = sum((unseen(F.col(name), levels) for name, levels in declared.items()), F.lit(0))
    return raw.select(*typed, counted.alias(UNSEEN_COL), *keep)


def _nominal(name: str, levels: list[str] | None) -> Column:
    return F.col(name) if levels is None else category(F.col(name), levels, unknown=UNKNOWN_LEVEL)
