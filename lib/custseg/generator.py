"""Synthetic customers shaped like the real customer-segmentation data set, with planted segments.

The project's default run uses these customers so that it works with nothing but the
repository. Columns, types, category domains, ranges and missing rates follow the real data
(see ``shared/data/customer-segmentation/README.md``); on top of that every row belongs to
one of seven life-stage segments (``planted_segment``) so that tests can check the job finds
structure that is really there.

Each segment is one row of :data:`SEGMENTS`. Single columns overlap between segments, as in
real data; segments only separate clearly in combination.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

PROFESSIONS = ("Artist", "Healthcare", "Entertainment", "Engineer", "Doctor",
               "Lawyer", "Executive", "Marketing", "Homemaker")
SPENDING = ("Low", "Average", "High")
VAR_1 = ("Cat_1", "Cat_2", "Cat_3", "Cat_4", "Cat_5", "Cat_6", "Cat_7")

# Share of nulls per column, as measured on the real Train.csv; other columns are never null.
MISSING_RATES = {"Work_Experience": 0.103, "Family_Size": 0.042, "Ever_Married": 0.017,
                 "Profession": 0.015, "Graduated": 0.010, "Var_1": 0.009}

ROWS_PER_PARTITION = 1_000_000
ID_OFFSET = 100_000
PLANTED_SEGMENT_COL = "planted_segment"


@dataclass(frozen=True)
class Segment:
    """One planted segment: its share of customers and the distribution of every column.

    Numbers are (mean, sd) of a normal that is rounded and clipped to the real range;
    probabilities follow the order of the matching domain tuple above.
    """

    name: str
    share: float
    age: tuple[float, float]
    work_experience: tuple[float, float]
    family_size: tuple[float, float]
    p_male: float
    p_married: float
    p_graduated: float
    profession: tuple[float, ...]  # PROFESSIONS order
    spending: tuple[float, float, float]  # Low, Average, High
    var_1: tuple[float, ...]  # Cat_1 .. Cat_7


# One row per segment; numbers are (mean, sd). The mixture keeps the real data's rough shape
# (real -> here on 20k rows: 55 -> 53 % male, 59 -> 63 % married, 62 -> 60 % graduated,
# Artists 32 -> 29 %, Cat_6 66 -> 66 %, Low spenders 61 -> 56 %, 0-1 years of work 65 -> 60 %
# with a bump at 8-9 years). No column alone gives the segment away (best single-column guess
# 20-75 % right: four segments are mostly Low spenders, three have 0-1 years of work, ages of
# neighbouring life stages overlap); life stage, household and spending together do.
#        name                    share  age        work_exp     family      male  marr  grad
SEGMENTS: tuple[Segment, ...] = (
    Segment("young dependents",    0.18, (21, 2.5), (0.2, 0.6), (4.6, 0.6), .55, .02, .25,
            profession=(.05, .72, .04, .03, .06, 0, 0, .10, 0), spending=(.96, .03, .01),
            var_1=(.02, .08, .14, .20, .01, .52, .03)),
    Segment("young singles",       0.17, (29, 3.5), (1.0, 0.6), (1.2, 0.4), .50, .04, .92,
            profession=(.65, .04, .08, .02, .16, 0, .01, .03, .01), spending=(.93, .06, .01),
            var_1=(.02, .06, .12, .15, .01, .61, .03)),
    Segment("young families",      0.17, (38, 4.5), (1.0, 0.6), (3.6, 0.5), .55, .97, .50,
            profession=(.10, .06, .25, .50, .05, 0, .01, .02, .01), spending=(.05, .92, .03),
            var_1=(.02, .05, .10, .14, .01, .66, .02)),
    Segment("established careers", 0.15, (50, 5.0), (8.5, 1.2), (3.0, 0.5), .60, .95, .88,
            profession=(.55, .02, .28, .04, .04, .02, .04, .01, 0), spending=(.08, .85, .07),
            var_1=(.01, .04, .08, .12, .01, .72, .02)),
    Segment("affluent executives", 0.11, (63, 5.0), (2.0, 0.8), (2.0, 0.5), .65, .97, .70,
            profession=(.15, 0, .05, .03, .02, .05, .70, 0, 0), spending=(.02, .05, .93),
            var_1=(.01, .03, .06, .10, .01, .77, .02)),
    Segment("retirees",            0.13, (77, 6.0), (0.2, 0.6), (1.6, 0.5), .60, .97, .65,
            profession=(.25, 0, .04, .02, .02, .67, 0, 0, 0), spending=(.94, .04, .02),
            var_1=(.01, .03, .06, .08, .01, .79, .02)),
    Segment("homemakers",          0.09, (47, 5.0), (4.5, 1.0), (6.4, 0.8), .08, .92, .25,
            profession=(.20, .05, .05, .05, .05, 0, 0, .05, .55), spending=(.92, .06, .02),
            var_1=(.02, .05, .10, .12, .02, .66, .03)),
)


def _stream_seed(seed: int, stream: int) -> int:
    """Seed of one independent random stream; seeds 1 and 2 must not share shifted streams."""
    return (seed * 1000 + stream) % (1 << 63)


def _per_segment(segment: Column, values: Sequence[float]) -> Column:
    """``values[segment]`` as a column: a literal array indexed by the row's segment."""
    return F.element_at(F.array(*[F.lit(float(v)) for v in values]), segment + 1)


def _normal_whole(segment: Column, params: Sequence[tuple[float, float]], z: Column,
                  low: int, high: int) -> Column:
    """A per-segment normal draw rounded to whole numbers and clipped to ``[low, high]``."""
    mean = _per_segment(segment, [p[0] for p in params])
    sd = _per_segment(segment, [p[1] for p in params])
    return F.least(F.greatest(F.round(mean + sd * z), F.lit(float(low))), F.lit(float(high)))


def _categorical(segment: Column, probs: Sequence[Sequence[float]], labels: Sequence[str],
                 u: Column) -> Column:
    """Inverse-CDF draw: the first label whose per-segment cumulative probability exceeds ``u``."""
    cumulative = [list(accumulate(p)) for p in probs]
    expr = F.when(u < _per_segment(segment, [c[0] for c in cumulative]), labels[0])
    for k in range(1, len(labels) - 1):
        expr = expr.when(u < _per_segment(segment, [c[k] for c in cumulative]), labels[k])
    # otherwise() rather than a last bound, so rounding in the cumulative sums never yields null.
    return expr.otherwise(labels[-1])


def _binary(segment: Column, p_first: Sequence[float], labels: tuple[str, str], u: Column) -> Column:
    """``labels[0]`` with per-segment probability ``p_first``, else ``labels[1]``."""
    return _categorical(segment, [(p, 1 - p) for p in p_first], labels, u)


def _segment_of(u: Column) -> Column:
    """Segment index 0..6 drawn with the shares of :data:`SEGMENTS`."""
    bounds = list(accumulate(s.share for s in SEGMENTS))
    expr = F.when(u < bounds[0], F.lit(0))
    for k in range(1, len(SEGMENTS) - 1):
        expr = expr.when(u < bounds[k], F.lit(k))
    return expr.otherwise(F.lit(len(SEGMENTS) - 1))


def default_partitions(rows: int) -> int:
    """Partitions for ``rows`` customers: a fixed rule, so output never depends on the cluster."""
    return max(1, -(-rows // ROWS_PER_PARTITION))


def generate_customers(spark: SparkSession, *, rows: int, seed: int,
                       num_partitions: int | None = None) -> DataFrame:
    """Customers with the real data set's columns plus the ``planted_segment`` they come from.

    Parameters
    ----------
    spark : the session to build the (lazy) DataFrame in.
    rows : number of customers; IDs are ``100000 .. 100000 + rows - 1``.
    seed : seeds every random column; same ``rows``, ``seed`` and partitions give the same rows.
    num_partitions : defaults to one partition per million rows (see :func:`default_partitions`).

    Returns
    -------
    DataFrame with ID (long), Gender, Ever_Married, Age (int), Graduated, Profession,
    Work_Experience (double), Spending_Score, Family_Size (double), Var_1, planted_segment (int).
    """
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    partitions = default_partitions(rows) if num_partitions is None else num_partitions
    if partitions < 1:
        raise ValueError(f"num_partitions must be >= 1, got {partitions}")

    # Every draw gets its own stream and is materialised as a column first: the CASE
    # expressions below read a draw several times and must all see the same value.
    draws = ["segment", "gender", "married", "graduated", "profession", "spending", "var_1"]
    normals = ["age", "experience", "family"]
    missing = [f"missing_{name}" for name in MISSING_RATES]
    streams = draws + normals + missing
    base = spark.range(0, rows, 1, partitions).select(
        "id",
        *[(F.randn if name in normals else F.rand)(_stream_seed(seed, j)).alias(f"_{name}")
          for j, name in enumerate(streams)],
    ).withColumn(PLANTED_SEGMENT_COL, _segment_of(F.col("_segment")))

    seg = F.col(PLANTED_SEGMENT_COL)
    values = {
        "ID": (F.col("id") + ID_OFFSET).cast("long"),
        "Gender": _binary(seg, [s.p_male for s in SEGMENTS], ("Male", "Female"), F.col("_gender")),
        "Ever_Married": _binary(seg, [s.p_married for s in SEGMENTS], ("Yes", "No"), F.col("_married")),
        "Age": _normal_whole(seg, [s.age for s in SEGMENTS], F.col("_age"), 18, 89).cast("int"),
        "Graduated": _binary(seg, [s.p_graduated for s in SEGMENTS], ("Yes", "No"), F.col("_graduated")),
        "Profession": _categorical(seg, [s.profession for s in SEGMENTS], PROFESSIONS, F.col("_profession")),
        "Work_Experience": _normal_whole(seg, [s.work_experience for s in SEGMENTS], F.col("_experience"), 0, 14),
        "Spending_Score": _categorical(seg, [s.spending for s in SEGMENTS], SPENDING, F.col("_spending")),
        "Family_Size": _normal_whole(seg, [s.family_size for s in SEGMENTS], F.col("_family"), 1, 9),
        "Var_1": _categorical(seg, [s.var_1 for s in SEGMENTS], VAR_1, F.col("_var_1")),
    }
    # Missingness is independent of everything else (missing completely at random).
    for name, rate in MISSING_RATES.items():
        values[name] = F.when(F.col(f"_missing_{name}") >= rate, values[name])
    return base.select(*[expr.alias(name) for name, expr in values.items()],
                       seg.cast("int").alias(PLANTED_SEGMENT_COL))
