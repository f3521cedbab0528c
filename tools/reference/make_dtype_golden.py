"""Golden dtype conversions from torch, for moescope's `weights convert` (Java test: DTypeConversionGoldenTest).

    python3 tools/reference/make_dtype_golden.py

Writes weights-tools/src/test/resources/dtype/golden.safetensors. For each source dtype S in {F32, BF16, F16, F64}
it stores the source tensor `src.S` and torch's conversion of it to each target T in {bf16, f16, f32} as `S.to.T`
(`.to(torch.bfloat16)`, `.half()`, `.float()`), bit for bit. The sources mix hand-picked edge cases (NaN with and
without payload and sign, signalling NaN, +-Inf, +-0, subnormals of every format, the largest finite values and
the first values that overflow, exact halfway cases with even and odd kept mantissa, double-rounding traps for F64)
with seeded random bit patterns, so every exponent class appears.

torch's NaN outputs depend on the code path (this CPU: AVX2): F32->BF16 gives 0xFFFF, F16->BF16 and F64->BF16
0x7FC0, F32->F16 keeps sign and the top payload bits (F16C semantics), and the scalar tail loop of F16->F32 gives
0x7FFFFFFF where the vector loop keeps the payload. Tensor lengths here are multiples of 64 so that every element
goes through the vector loop; the script asserts that this holds, i.e. that no F16->F32 output is 0x7FFFFFFF.
Deterministic: numpy's seeded generator, one torch thread; rerunning rewrites a byte-identical file.
"""

import os

import numpy as np
import torch
from safetensors.numpy import save_file

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(REPO, "weights-tools", "src", "test", "resources", "dtype", "golden.safetensors")
N16, N32, N64 = 8192, 8192, 512
rng = np.random.default_rng(20240611)


def pad_random_bits(special, n, bits):
    """special values (unsigned ints), then seeded random bit patterns up to n elements."""
    dtype = {16: np.uint16, 32: np.uint32, 64: np.uint64}[bits]
    special = np.array(special, dtype=dtype)
    assert len(special) <= n, (len(special), n)
    rest = rng.integers(0, 2**bits, size=n - len(special), dtype=dtype, endpoint=False)
    return np.concatenate([special, rest])


def f32_special():
    s = [0x00000000, 0x80000000, 0x7F800000, 0xFF800000,  # +-0, +-Inf
         0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001, 0x7FA12345, 0xFFB54321, 0x7FFFFFFF, 0xFFFFFFFF,  # NaNs
         0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF, 0x00008000, 0x00018000, 0x00010000,  # f32 subnormals
         0x7F7FFFFF, 0xFF7FFFFF, 0x7F7F7FFF, 0x7F7F8000, 0x7F7F8001, 0x7F7EFFFF]  # largest finite, bf16 overflow
    # BF16 halfway cases: low 16 bits exactly 0x8000, kept mantissa even and odd, plus one ulp either side.
    for hi in [0x3F80, 0x3F81, 0x4049, 0xC2F7, 0x0001, 0x0080, 0x7F00, 0xBF80]:
        for lo in [0x7FFF, 0x8000, 0x8001]:
            s.append((hi << 16) | lo)
    # F16 halfway cases: 13 dropped bits exactly 0x1000 (normal range), both parities, and neighbours.
    for base in [1.0, 1.0009765625, 3.14159, 1000.0, -2.5, 6.103515625e-05]:
        b = int(np.array(base, dtype=np.float32).view(np.uint32)) & ~0x1FFF
        for off in [0x0FFF, 0x1000, 0x1001, 0x3000]:
            s.append(b | off)
    # F16 overflow boundary: 65504 is the max, 65520 is the halfway point that rounds to Inf.
    for v in [65504.0, 65519.0, 65519.996, 65520.0, 65520.004, 70000.0, -65520.0, 1e10]:
        s.append(int(np.array(v, dtype=np.float32).view(np.uint32)))
    # F16 subnormal range and the underflow boundary (2^-24 is the smallest subnormal, 2^-25 the halfway point).
    for v in [2.0**-14, 2.0**-15, 2.0**-24, 2.0**-25, 2.0**-25 * 1.0000001, 3 * 2.0**-25, 2.0**-26, 5.96e-08, -2.0**-24,
              6.0975552e-05, 1e-45, 1e-40]:
        s.append(int(np.array(v, dtype=np.float32).view(np.uint32)))
    # Ordinary weights: normal(0, 0.02) like an HF init, and a spread of scales.
    normals = (rng.standard_normal(1024) * 0.02).astype(np.float32).view(np.uint32)
    scaled = (rng.standard_normal(1024) * np.exp(rng.uniform(-30, 30, 1024))).astype(np.float32).view(np.uint32)
    return list(s) + list(normals) + list(scaled)


def half_special(exp_mask, mant_bits):
    """every pattern with exponent all zeros or all ones (subnormals, zeros, Inf, NaN) of a 16-bit format"""
    out = []
    for sign in [0, 0x8000]:
        for exp in [0, exp_mask]:
            for m in range(1 << mant_bits):
                out.append(sign | exp | m)
    return out


def f64_special():
    vals = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0 + 2.0**-8 + 2.0**-30, 1.0 + 2.0**-11 + 2.0**-40,
            1.0 + 2.0**-24, 1.0 + 2.0**-24 + 2.0**-50, 3.4028235677973366e38, 3.5e38, 1e-300, 1e-39, 5e-324,
            65519.99, 65520.0, -1e300]
    bits = [int(np.array(v, dtype=np.float64).view(np.uint64)) for v in vals]
    bits += [0x7FF0000000000001, 0xFFF8000000001234, 0x7FF4000000000000]  # NaN payloads
    normals = (rng.standard_normal(256) * 0.02).astype(np.float64).view(np.uint64)
    return bits + list(normals)


def convert(t):
    return {"bf16": t.to(torch.bfloat16), "f16": t.half(), "f32": t.float()}


def as_numpy_bits(t):
    view = {torch.bfloat16: torch.int16, torch.float16: torch.int16, torch.float32: torch.int32,
            torch.float64: torch.int64}[t.dtype]
    unsigned = {torch.int16: np.uint16, torch.int32: np.uint32, torch.int64: np.uint64}[view]
    return t.contiguous().view(view).numpy().view(unsigned)


def main():
    torch.set_num_threads(1)
    sources = {
        "F32": torch.from_numpy(pad_random_bits(f32_special(), N32, 32).view(np.float32).copy()),
        "BF16": torch.from_numpy(pad_random_bits(half_special(0x7F80, 7), N16, 16).view(np.int16).copy())
        .view(torch.bfloat16),
        "F16": torch.from_numpy(pad_random_bits(half_special(0x7C00, 10), N16, 16).view(np.int16).copy())
        .view(torch.float16),
        "F64": torch.from_numpy(pad_random_bits(f64_special(), N64, 64).view(np.float64).copy()),
    }
    out = {}
    np_dtype = {torch.bfloat16: None, torch.float16: np.float16, torch.float32: np.float32, torch.float64: np.float64}
    for name, src in sources.items():
        assert src.numel() % 64 == 0
        tensors = {"src." + name: src}
        for target, t in convert(src).items():
            tensors[name + ".to." + target] = t
        if name == "F16":
            assert not (as_numpy_bits(tensors["F16.to.f32"]) == 0x7FFFFFFF).any(), "scalar tail path was used"
        for key, t in tensors.items():
            bits = as_numpy_bits(t)
            if t.dtype == torch.bfloat16:
                out[key] = bits  # numpy has no bfloat16: stored as U16, the Java test reinterprets
            else:
                out[key] = bits.view(np_dtype[t.dtype])
    # One metadata key only: safetensors writes __metadata__ in hash order, which would break reproducibility.
    save_file(out, OUT, metadata={"generator": "tools/reference/make_dtype_golden.py, torch " + torch.__version__
                                  + "; BF16 tensors are stored as U16 bit patterns"})
    print("wrote", OUT, sum(v.nbytes for v in out.values()), "bytes of tensors")


if __name__ == "__main__":
    main()
