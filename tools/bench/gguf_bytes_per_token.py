#!/usr/bin/env python3
"""Bytes one decode token reads from a MoE GGUF file, for the bandwidth roofline (docs/performance.md, "Memory").

Every tensor is read once per token, except the packed experts (*_exps: expert_used_count of expert_count of them)
and token_embd (one row). Sizes are the tensors' stored bytes at their ggml types, from the file's tensor table.
Needs the `gguf` package (a venv with tools/requirements.txt).

    python3 tools/bench/gguf_bytes_per_token.py model.gguf
"""
import collections
import sys

import gguf


def main(path):
    r = gguf.GGUFReader(path)
    arch = r.fields['general.architecture'].parts[-1].tobytes().decode()
    used = int(r.fields[f'{arch}.expert_used_count'].parts[-1][0])
    experts = int(r.fields[f'{arch}.expert_count'].parts[-1][0])
    parts = collections.Counter()
    file_bytes = 0
    for t in r.tensors:
        n = int(t.n_bytes)
        file_bytes += n
        if t.name == 'token_embd.weight':
            parts['embedding row'] += n / int(t.shape[1])  # gguf-py's shape is ggml's ne: (columns, rows)
        elif '_exps.' in t.name:
            parts[f'experts ({used} of {experts})'] += n * used / experts
        elif t.name == 'output.weight':
            parts['lm_head'] += n
        elif '.ffn_gate_inp' in t.name:
            parts['routers'] += n
        elif '.attn_' in t.name:
            parts['attention'] += n
        else:
            parts['norms and the rest'] += n
    for name, b in parts.items():
        print(f'{name:24s} {b / 1e6:10.1f} MB')
    total = sum(parts.values())
    print(f'{"per token":24s} {total / 1e6:10.1f} MB (file {file_bytes / 1e9:.2f} GB)')


if __name__ == '__main__':
    main(sys.argv[1])
