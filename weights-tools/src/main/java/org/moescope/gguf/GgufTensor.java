package org.moescope.gguf;

import java.util.Arrays;

/**
 * One tensor info of a GGUF file. {@code ne} is ggml's order, fastest-varying first: a matrix of {@code rows} rows of
 * {@code cols} values has ne = [cols, rows], the reverse of the PyTorch/safetensors shape. {@code offset} is relative
 * to the start of the data section.
 */
public record GgufTensor(String name, GgmlType type, long[] ne, long offset, long byteSize) {
    public long numElements() {
        long n = 1;
        for (long d : ne) n *= d;
        return n;
    }

    /** The shape as PyTorch and safetensors write it (ne reversed). */
    public long[] shape() {
        long[] s = new long[ne.length];
        for (int i = 0; i < ne.length; i++) s[i] = ne[ne.length - 1 - i];
        return s;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensor t && name.equals(t.name) && type == t.type && Arrays.equals(ne, t.ne)
                && offset == t.offset && byteSize == t.byteSize;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(ne);
    }

    @Override
    public String toString() {
        return name + " " + type + Arrays.toString(ne);
    }
}
