#!/usr/bin/env python3
"""Plot the grokking curve: train/test accuracy per step (curve.csv) with the saved checkpoints marked (scores.csv)."""

import argparse
import csv

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--series", default="fixtures/grokking")
    ap.add_argument("--out", default="docs/images/grokking-accuracy.png")
    a = ap.parse_args()

    curve = read(f"{a.series}/curve.csv")
    scores = read(f"{a.series}/scores.csv")
    steps = [int(r["step"]) for r in curve]
    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    ax.plot(steps, [float(r["train_acc"]) for r in curve], label="train accuracy", color="tab:blue")
    ax.plot(steps, [float(r["test_acc"]) for r in curve], label="test accuracy", color="tab:orange")
    ck = [int(r["step"]) for r in scores]
    ax.scatter(ck, [float(r["train_accuracy"]) for r in scores], s=14, color="tab:blue", zorder=3)
    ax.scatter(ck, [float(r["test_accuracy"]) for r in scores], s=14, color="tab:orange", zorder=3,
               label="saved checkpoints (as saved)")
    for s in ck:
        ax.axvline(s, color="0.85", lw=0.6, zorder=0)
    ax.set_xlabel("step (full batch)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Tiny OLMoE on a + b mod p: memorisation, then grokking")
    ax.legend(loc="center left")
    fig.tight_layout()
    fig.savefig(a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
