#!/usr/bin/env python3
"""Compares two route files of the same samples (docs/route-format.md), e.g. a checkpoint and its Q8_0 copy.

Usage: compare_routes.py A.safetensors B.safetensors  -> one JSON line:
  slots: token-layer slots; slots_changed: fraction whose top-k expert set differs; experts_changed: fraction of the
  k choices that differ as sets (|A \\ B| / k summed over slots); loss_abs_diff_mean / max over samples;
  topk_weight_abs_diff_max over slots whose set is unchanged.
"""
import json
import sys

import numpy as np
from safetensors.numpy import load_file


def main(a_path, b_path):
    a, b = load_file(a_path), load_file(b_path)
    if not np.array_equal(a["input_ids"], b["input_ids"]):
        sys.exit("the two files hold different tokens")
    ia, ib = np.sort(a["topk_ids"], axis=-1), np.sort(b["topk_ids"], axis=-1)  # [T, L, k]
    same_set = np.all(ia == ib, axis=-1)
    k = ia.shape[-1]
    changed = 0
    for x, y in zip(ia.reshape(-1, k), ib.reshape(-1, k)):
        changed += len(set(x.tolist()) - set(y.tolist()))
    wa = np.take_along_axis(a["topk_weights"], np.argsort(a["topk_ids"], axis=-1), axis=-1)
    wb = np.take_along_axis(b["topk_weights"], np.argsort(b["topk_ids"], axis=-1), axis=-1)
    wdiff = np.abs(wa - wb)[same_set]
    la, lb = a["loss"], b["loss"]
    ok = ~(np.isnan(la) | np.isnan(lb))
    print(json.dumps({
        "slots": int(same_set.size),
        "slots_changed": float(1 - same_set.mean()),
        "experts_changed": float(changed / (same_set.size * k)),
        "loss_abs_diff_mean": float(np.abs(la - lb)[ok].mean()),
        "loss_abs_diff_max": float(np.abs(la - lb)[ok].max()),
        "topk_weight_abs_diff_max": float(wdiff.max()) if wdiff.size else 0.0,
    }))


if __name__ == "__main__":
    main(*sys.argv[1:3])
