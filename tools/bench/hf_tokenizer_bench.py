#!/usr/bin/env python3
"""HF tokenizers' single-threaded encoding throughput on the same chunks as TokenizerBench.java.

Each chunk is encoded without special tokens (add_special_tokens=False), as TokenizerBench's encodeIds, so that the
two print the same ids hash.

Usage: RAYON_NUM_THREADS=1 python3 tools/bench/hf_tokenizer_bench.py TOKENIZER_JSON TEXT_FILE [PASSES]
"""
import sys
import time

from tokenizers import Tokenizer


def chunks(text):
    out, start, lines = [], 0, 0
    i = text.find("\n")
    while i >= 0:
        lines += 1
        if lines == 40:
            out.append(text[start:i + 1])
            start, lines = i + 1, 0
        i = text.find("\n", i + 1)
    if start < len(text):
        out.append(text[start:])
    return out


def main():
    tok = Tokenizer.from_file(sys.argv[1])
    data = open(sys.argv[2], "rb").read()
    parts = chunks(data.decode("utf-8"))
    passes = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    mb = len(data) / 1e6
    print(f"hf: {mb:.2f} MB of text in {len(parts)} chunks")
    best = float("inf")
    for p in range(passes):
        start = time.perf_counter()
        encs = [tok.encode(c, add_special_tokens=False) for c in parts]  # one input: on the calling thread
        s = time.perf_counter() - start
        best = min(best, s)
        print(f"hf encode pass {p}: {s:.3f} s, {mb / s:.2f} MB/s")
    h, n = 0, 0
    for e in encs:
        for i in e.ids:
            h = (h * 31 + i) & 0xFFFFFFFFFFFFFFFF
            n += 1
    print(f"hf: {n} tokens, ids hash {h:016x}")
    print(f"hf encode best: {mb / best:.2f} MB/s ({n / best:.0f} tokens/s)")


if __name__ == "__main__":
    main()
