"""torch's fp32 (and bf16) matmul throughput on this machine, the reference for the engine's kernels.
Usage: python torch_matmul.py [THREADS]   prints JSON: GFLOP/s best of several runs per shape."""
import json
import sys
import time

import torch


def gflops(m, n, k, dtype, seconds=2.0):
    a = torch.randn(m, k, dtype=dtype)
    b = torch.randn(k, n, dtype=dtype)
    torch.mm(a, b)
    best = 0.0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        reps = 0
        while reps < 3 or time.perf_counter() - t0 < 0.2:
            torch.mm(a, b)
            reps += 1
        best = max(best, 2.0 * m * n * k * reps / (time.perf_counter() - t0) / 1e9)
    return best


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    torch.set_num_threads(threads)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "gflops": {}}
    # (tokens x hidden) . (hidden x rows): a 512-token prefill through q_proj, an expert's up projection for its
    # ~128 tokens, and a big square one.
    for name, (m, n, k) in {"512x1024x1024": (512, 1024, 1024), "128x512x1024": (128, 512, 1024),
                            "512x2048x2048": (512, 2048, 2048), "2048x2048x2048": (2048, 2048, 2048)}.items():
        out["gflops"]["fp32 " + name] = round(gflops(m, n, k, torch.float32), 1)
    out["gflops"]["bf16 512x1024x1024"] = round(gflops(512, 1024, 1024, torch.bfloat16, 1.0), 2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
