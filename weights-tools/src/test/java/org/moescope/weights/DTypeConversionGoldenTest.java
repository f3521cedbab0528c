package org.moescope.weights;

import org.junit.jupiter.api.Test;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.SafetensorsFile;
import org.moescope.safetensors.TensorInfo;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Every conversion against torch's output, bit for bit (golden made by tools/reference/make_dtype_golden.py). */
class DTypeConversionGoldenTest {
    static Path golden() throws URISyntaxException {
        return Path.of(Objects.requireNonNull(DTypeConversionGoldenTest.class.getResource("/dtype/golden.safetensors")).toURI());
    }

    /** The golden stores BF16 tensors as U16 (numpy has no bfloat16). */
    static DType realDtype(String name, TensorInfo t) {
        if (t.dtype() == DType.U16) {
            return DType.BF16;
        }
        return t.dtype();
    }

    @Test
    void everySourceToEveryTargetMatchesTorchBitForBit() throws Exception {
        int compared = 0;
        try (SafetensorsFile g = SafetensorsFile.open(golden()); Arena arena = Arena.ofConfined()) {
            for (String source : List.of("F32", "BF16", "F16", "F64")) {
                TensorInfo srcInfo = g.info("src." + source);
                DType from = DType.valueOf(source);
                assertEquals(from, realDtype(srcInfo.name(), srcInfo));
                int n = (int) srcInfo.numElements();
                for (String target : List.of("bf16", "f16", "f32")) {
                    DType to = DTypeConversion.parseTarget(target);
                    MemorySegment expected = g.segment(source + ".to." + target);
                    MemorySegment actual = arena.allocate((long) n * to.byteSize());
                    DTypeConversion.convert(g.segment("src." + source), from, 0, actual, to, n);
                    assertSameBits(source + "->" + target, g.segment("src." + source), from, expected, actual, to, n);
                    compared += n;
                }
            }
        }
        assertEquals(3 * (3 * 8192 + 512), compared);
    }

    @Test
    void convertsFromAnOffsetInsideTheSource() throws Exception {
        try (SafetensorsFile g = SafetensorsFile.open(golden()); Arena arena = Arena.ofConfined()) {
            MemorySegment src = g.segment("src.F32");
            MemorySegment expected = g.segment("F32.to.bf16");
            MemorySegment actual = arena.allocate(2 * 100);
            DTypeConversion.convert(src, DType.F32, 5000, actual, DType.BF16, 100);
            assertEquals(-1, actual.mismatch(expected.asSlice(2 * 5000, 2 * 100)));
        }
    }

    private static void assertSameBits(String what, MemorySegment src, DType from, MemorySegment expected,
                                       MemorySegment actual, DType to, int n) {
        long mismatch = actual.mismatch(expected);
        if (mismatch < 0) {
            return;
        }
        int i = (int) (mismatch / to.byteSize());
        HexFormat hex = HexFormat.of();
        fail(what + ": element " + i + " of " + n + ": source bits "
                + hex.formatHex(src.asSlice((long) i * from.byteSize(), from.byteSize()).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))
                + " torch " + hex.formatHex(expected.asSlice((long) i * to.byteSize(), to.byteSize()).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))
                + " ours " + hex.formatHex(actual.asSlice((long) i * to.byteSize(), to.byteSize()).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))
                + " (little-endian)");
    }
}
