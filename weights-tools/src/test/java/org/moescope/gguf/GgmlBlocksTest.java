package org.moescope.gguf;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.moescope.safetensors.SafetensorsFile;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Our block decoders and encoders against gguf-py's (tools/reference/make_gguf_fixtures.py). */
class GgmlBlocksTest {
    static final int ROWS = 2, COLS = 512;

    static Path golden() throws URISyntaxException {
        return Path.of(Objects.requireNonNull(GgmlBlocksTest.class.getResource("/gguf/blocks.safetensors")).toURI());
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    void decodesAsGgufPy(GgmlType type) throws Exception {
        try (SafetensorsFile f = SafetensorsFile.open(golden())) {
            MemorySegment blocks = f.segment(type.name() + ".blocks");
            float[] expected = f.readFloats(type.name() + ".dequant");
            float[] got = new float[ROWS * COLS];
            for (int r = 0; r < ROWS; r++) {
                GgmlBlocks.dequantise(type, blocks, r * type.rowBytes(COLS), 0, COLS, got, r * COLS);
            }
            assertArrayEquals(expected, got, 0f, type.name());
            // an unaligned range, as a kernel's tile edge may ask for
            float[] part = new float[300];
            GgmlBlocks.dequantise(type, blocks, type.rowBytes(COLS), 7, 300, part, 0);
            for (int i = 0; i < 300; i++) {
                assertEquals(expected[COLS + 7 + i], part[i], 0f, type + " at " + i);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F16", "BF16", "Q8_0", "Q4_0"})
    void encodesByteForByteAsGgufPy(GgmlType type) throws Exception {
        try (SafetensorsFile f = SafetensorsFile.open(golden())) {
            float[] src = f.readFloats(type.name() + ".src");
            MemorySegment quant = f.segment(type.name() + ".quant");
            byte[] got = GgmlQuantiser.encode(type, src, 0, src.length);
            assertArrayEquals(quant.toArray(ValueLayout.JAVA_BYTE), got, type.name());
        }
    }

    /** Our own K-quant encoders: decode(encode(x)) is within the quantisation step of x. */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_K", "Q5_K", "Q6_K", "Q8_0", "Q4_0"})
    void roundTripErrorIsWithinTheStep(GgmlType type) {
        Random rnd = new Random(7);
        float[] x = new float[4 * 256];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian() * (i < 256 ? 0.02f : 1f);
        x[300] = 9f;
        byte[] q = GgmlQuantiser.encode(type, x, 0, x.length);
        float[] y = new float[x.length];
        GgmlBlocks.dequantise(type, MemorySegment.ofArray(q), 0, 0, x.length, y, 0);
        double err = 0, norm = 0;
        for (int i = 0; i < x.length; i++) {
            err += (x[i] - y[i]) * (x[i] - y[i]);
            norm += x[i] * x[i];
        }
        double rel = Math.sqrt(err / norm);
        // bits per value: 4.5 (Q4_K/Q4_0), 5.5, 6.56, 8.5; the relative RMS error of a uniform quantiser of b bits
        // over a block's range is about 2^-b; allow 2x that
        double bound = switch (type) {
            case Q4_K, Q4_0 -> 0.12;
            case Q5_K -> 0.06;
            case Q6_K -> 0.03;
            default -> 0.01;
        };
        assertTrue(rel < bound, type + ": relative RMS error " + rel);
    }
}
