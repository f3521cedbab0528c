package org.moescope.kernels;

import org.moescope.gguf.GgmlBlocks;
import org.moescope.gguf.GgmlType;
import org.moescope.safetensors.DType;

import java.lang.foreign.MemorySegment;

/**
 * The kernels' access to a {@link Weight} in a ggml block type (a GGUF file's Q8_0, Q4_0, Q4_K, Q5_K, Q6_K): rows
 * are decoded block by block from the mapping into the caller's scratch as the kernels need them (a tile's slice of
 * columns, one row of a streamed product), never into a dequantised copy of the matrix. The block layouts are
 * weights-tools' {@link GgmlBlocks}.
 */
final class GgmlRows {
    private GgmlRows() {
    }

    static void check(String name, MemorySegment data, DType dtype, int rows, int cols, MemorySegment scales,
                      GgmlType type) {
        if (dtype != DType.U8 || scales != null || !type.computable() || !type.isBlockQuant()) {
            throw new IllegalArgumentException(name + ": a ggml weight is U8 bytes of a computable block type, not "
                    + dtype + "/" + type);
        }
        if (cols % type.blockSize() != 0 || data.byteSize() != rows * type.rowBytes(cols)) {
            throw new IllegalArgumentException(name + ": " + data.byteSize() + " bytes for " + rows + "x" + cols
                    + " " + type);
        }
    }

    /** out[off .. off+n) = columns k0 .. k0+n of row r, decoded. */
    static void widen(Weight w, int r, int k0, int n, float[] out, int off) {
        GgmlBlocks.dequantise(w.ggml(), w.data(), w.rowOffset(r), k0, n, out, off);
    }
}
