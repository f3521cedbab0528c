package org.moescope.kernels;

import org.moescope.safetensors.DType;

import java.lang.foreign.MemorySegment;

/**
 * A row-major weight matrix (rows, cols) left in its stored dtype inside a memory-mapped checkpoint. HF Linear
 * weights are stored [out_features, in_features], so y = x · Wᵀ reads one row per output.
 */
public record Weight(String name, MemorySegment data, DType dtype, int rows, int cols) {
    public Weight {
        if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F16) {
            throw new IllegalArgumentException(name + ": unsupported weight dtype " + dtype);
        }
        if (data.byteSize() != (long) rows * cols * dtype.byteSize()) {
            throw new IllegalArgumentException(name + ": " + data.byteSize() + " bytes for " + rows + "x" + cols);
        }
    }

    /** Byte offset of the start of row r. */
    public long rowOffset(int r) {
        return (long) r * cols * dtype.byteSize();
    }
}
