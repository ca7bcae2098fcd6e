"""Fixed log-scale histogram buckets for runtimes and waits, and percentiles estimated from them.

Bucket ``i ≥ 1`` holds values in ``[MIN_SECONDS·G^(i-1), MIN_SECONDS·G^i)`` with
``G = 2^(1/8)`` (eight buckets per doubling); bucket 0 holds everything below ``MIN_SECONDS``
(1 ms), negative waits from skewed clocks included; the top bucket also takes everything above
``MAX_SECONDS``. Fixed edges make histograms of different minutes, names and processes add up.

Estimation error: each order statistic is estimated as the geometric middle of its bucket, so
it lies within a factor ``√G`` of the true value (relative error ≤ √G − 1 ≈ 4.4 %), and a
percentile interpolated linearly between two such estimates (pandas'/numpy's default rule) stays
within the same factor of the exact percentile. Values in bucket 0 are estimated as 0 (absolute
error < 1 ms; a negative wait reads as 0); values above ``MAX_SECONDS`` as the top bucket's middle.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "GROWTH",
    "MAX_SECONDS",
    "MIN_SECONDS",
    "RELATIVE_ERROR",
    "bucket_of",
    "bucket_value",
    "estimate_percentiles",
]

#: Bucket ratio: 2^(1/8) bounds the estimate's relative error by 4.4 %.
GROWTH = 2 ** (1 / 8)
#: Below one millisecond nobody reads a latency closer: one bucket holds it all.
MIN_SECONDS = 1e-3
#: A week: longer runtimes share the top bucket.
MAX_SECONDS = 7 * 86400.0
TOP_BUCKET = math.ceil(math.log(MAX_SECONDS / MIN_SECONDS, GROWTH))
#: The documented bound on ``estimate / exact − 1`` for values in [MIN_SECONDS, MAX_SECONDS].
RELATIVE_ERROR = math.sqrt(GROWTH) - 1


def bucket_of(seconds: float) -> int:
    """The bucket a value falls in (NaN is not bucketed: callers skip it)."""
    if seconds < MIN_SECONDS:
        return 0
    index = math.floor(math.log(seconds / MIN_SECONDS, GROWTH)) + 1
    return min(max(index, 1), TOP_BUCKET)


def bucket_value(bucket: int) -> float:
    """A bucket's representative value: the geometric middle of its edges (0 for bucket 0)."""
    if bucket <= 0:
        return 0.0
    return MIN_SECONDS * GROWTH ** (bucket - 1) * math.sqrt(GROWTH)


def estimate_percentiles(
    counts: Iterable[tuple[int, int]], quantiles: Sequence[float]
) -> list[float]:
    """Percentiles (``quantiles`` in 0–100) from ``(bucket, tasks)`` pairs; NaN when empty.

    The linear-interpolation rule on estimated order statistics (see the module docstring).
    """
    pairs = sorted((b, n) for b, n in counts if n > 0)
    total = sum(n for _, n in pairs)
    if not total:
        return [math.nan for _ in quantiles]
    buckets = np.array([b for b, _ in pairs])
    ends = np.cumsum([n for _, n in pairs])  # order statistics 0..ends[i]-1 sit in bucket i
    out = []
    for q in quantiles:
        rank = q / 100 * (total - 1)
        low, high = math.floor(rank), math.ceil(rank)
        below = bucket_value(int(buckets[np.searchsorted(ends, low, side="right")]))
        above = bucket_value(int(buckets[np.searchsorted(ends, high, side="right")]))
        out.append(below + (above - below) * (rank - low))
    return out
