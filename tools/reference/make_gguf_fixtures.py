"""ggml block-type goldens from the `gguf` package, for moescope's GGUF kernels (Java tests: GgmlBlocksTest).

    python3 tools/reference/make_gguf_fixtures.py

Writes weights-tools/src/test/resources/gguf/blocks.safetensors. For each type T in F16, BF16, Q8_0, Q4_0, Q4_K,
Q5_K, Q6_K it stores 2 rows of 512 values:
  - `T.blocks` (U8): seeded random block bytes, every f16 scale field replaced by a finite f16 in [-2, 2] (random
    bytes there would be NaN/Inf or huge), and `T.dequant` (F32): gguf's `dequantize` of those bytes, so the Java
    decoder is checked on every bit pattern of the quantised fields;
  - `T.src` (F32): seeded normal floats with a few outliers and `T.quant` (U8): gguf's `quantize` of them, where
    gguf has a quantiser (F16, BF16, Q8_0, Q4_0), so the Java encoder is checked byte for byte.
Deterministic: numpy's seeded generator; rerunning rewrites a byte-identical file.
"""

import os

import numpy as np
from gguf import GGMLQuantizationType as T, GGML_QUANT_SIZES, dequantize, quantize
from safetensors.numpy import save_file

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(REPO, "weights-tools", "src", "test", "resources", "gguf", "blocks.safetensors")
ROWS, COLS = 2, 512
rng = np.random.default_rng(20260522)

# Byte offsets of the f16 scale fields inside one block.
F16_FIELDS = {T.Q8_0: [0], T.Q4_0: [0], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}


def random_blocks(t):
    block, size = GGML_QUANT_SIZES[t]
    n_blocks = ROWS * COLS // block
    b = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)
    if t in (T.F16, T.BF16):
        # finite values only: NaN payloads are the dtype tests' business
        v = rng.standard_normal(n_blocks).astype(np.float32)
        b = (v.astype(np.float16) if t == T.F16 else (v.view(np.uint32) >> 16).astype(np.uint16)).view(np.uint8)
        return b.reshape(ROWS, -1)
    for off in F16_FIELDS[t]:
        d = rng.uniform(-2, 2, size=n_blocks).astype(np.float16)
        b[:, off:off + 2] = d.view(np.uint8).reshape(n_blocks, 2)
    return b.reshape(ROWS, -1)


def main():
    tensors = {}
    for t in [T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_K, T.Q5_K, T.Q6_K]:
        blocks = random_blocks(t)
        tensors[t.name + ".blocks"] = np.ascontiguousarray(blocks)
        tensors[t.name + ".dequant"] = dequantize(blocks, t).astype(np.float32).reshape(ROWS, COLS)
        if t in (T.F16, T.BF16, T.Q8_0, T.Q4_0):
            src = rng.standard_normal((ROWS, COLS)).astype(np.float32)
            src[0, 5] = 40.0
            src[1, 77] = -0.0
            src[1, 64:96] = 0.0  # an all-zero block: scale 0
            tensors[t.name + ".src"] = src
            tensors[t.name + ".quant"] = np.ascontiguousarray(quantize(src, t))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    save_file(tensors, OUT)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
