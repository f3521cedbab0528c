"""Golden Pearson/Spearman values from scipy for org.moescope.stats.Correlation tests.

Run: python3 tools/reference/make_stats_golden.py
Writes analysis/src/test/resources/stats/correlation_golden.json (seeded; ties on purpose).
"""
import json
import pathlib

import numpy as np
import scipy
from scipy import stats

rng = np.random.default_rng(2506)
cases = []
# Hand-picked: the paper's tied-rank patterns (n = 5, 6) and negative correlations.
hand = [
    ([1, 2, 3, 4, 5], [0.1, 0.2, 0.2, 0.4, 0.4]),
    ([5, 4, 3, 2, 1], [0.1, 0.2, 0.2, 0.4, 0.5]),
    ([1, 2, 3, 4, 5, 6], [3, 3, 1, 4, 5, 6]),
    ([2.5, 2.5, 2.5, 1, 4], [1, 2, 3, 4, 5]),
    ([1, 1, 2, 2], [4, 3, 2, 1]),
    ([0.3, 0.1, 0.2], [10, 30, 20]),
    # the paper's 0.9856 = sqrt(17/17.5): n = 6, one tie
    ([1, 2, 3, 4, 5, 6], [0.1, 0.2, 0.3, 0.3, 0.5, 0.6]),
    # n = 3, perfectly negative with a tie in x
    ([1, 1, 2], [5, 5, 1]),
    # a constant series: scipy gives NaN (written as null)
    ([1, 2, 3, 4], [7, 7, 7, 7]),
    # all but one tied
    ([2, 2, 2, 2, 2, 9], [1, 2, 3, 4, 5, 6]),
    # n = 12, three-way ties on both sides, negative
    ([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4], [9, 8, 9, 7, 7, 6, 5, 6, 4, 3, 3, 1]),
]
for x, y in hand:
    cases.append((x, y))
for n in range(3, 13):
    x = rng.integers(0, 4, n).astype(float)  # small integer range -> many ties
    y = np.round(0.5 * x + rng.normal(0, 1, n), 1)
    if rng.random() < 0.5:
        y = -y
    cases.append((x.tolist(), y.tolist()))
out = []
for x, y in cases:
    p = stats.pearsonr(x, y)[0]
    s = stats.spearmanr(x, y)[0]
    out.append({"x": list(map(float, x)), "y": list(map(float, y)),
                "pearson": None if np.isnan(p) else float(p), "spearman": None if np.isnan(s) else float(s)})
path = pathlib.Path(__file__).resolve().parents[2] / "analysis/src/test/resources/stats/correlation_golden.json"
path.write_text(json.dumps({"scipy": scipy.__version__, "cases": out}, indent=1) + "\n")
print("wrote", path, len(out), "cases")
