package org.moescope.safetensors;

import java.util.Arrays;

/**
 * One entry of a safetensors header. {@code begin} and {@code end} are byte offsets relative to the start of the data
 * section (just after the header), exactly as the file stores them.
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {
    public long numElements() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    public long byteSize() {
        return end - begin;
    }

    public int rank() {
        return shape.length;
    }

    /** Shape as "[a, b, c]" for messages. */
    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape)
                && begin == t.begin && end == t.end;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + dtype + shapeString();
    }
}
