package org.moescope.weights;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.checkpoint.Checkpoint;
import org.moescope.errors.BadInputException;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.Numbers;
import org.moescope.safetensors.TensorInfo;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class Q8Test {
    @TempDir
    Path dir;

    private static final Path TINY = Path.of("..", "fixtures", "models", "tiny-bf16");
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Test
    void aGroupIsScaledByItsLargestMagnitudeAndRounded() {
        float[] row = new float[64];
        for (int i = 0; i < 32; i++) row[i] = (i - 16) * 0.1f + 0.04f; // max |x| = 1.56 at i = 0
        // the second group stays zero
        byte[] q = new byte[64];
        float[] scales = new float[2];
        Q8.quantizeRow(row, 64, q, scales);
        assertEquals(1.56f / 127f, scales[0], 1e-7f);
        assertEquals(-127, q[0], "the largest magnitude maps to 127");
        for (int i = 0; i < 32; i++) {
            assertEquals(Math.round(row[i] / scales[0]), q[i]);
            assertTrue(Math.abs(q[i] * scales[0] - row[i]) <= scales[0] / 2 + 1e-7f, "error of value " + i);
        }
        assertEquals(0f, scales[1], "an all-zero group has scale 0");
        for (int i = 32; i < 64; i++) assertEquals(0, q[i]);
    }

    @Test
    void convertQuantisesTheProjectionsAndLmHeadAndKeepsTheRest() throws Exception {
        Path out = dir.resolve("q8");
        Convert.Result r = Convert.runQ8(TINY, out, 1L << 30, false);
        assertEquals(DType.I8, r.dtype());
        try (Checkpoint src = Checkpoint.open(TINY); Checkpoint q8 = Checkpoint.open(out)) {
            assertTrue(Q8.isQ8(q8.config()));
            assertEquals(32, q8.config().path("quantization_config").path("group_size").asInt());
            int quantised = 0;
            for (String name : src.tensorNames()) {
                TensorInfo s = src.info(name);
                TensorInfo t = q8.info(name);
                assertArrayEquals(s.shape(), t.shape(), name);
                boolean linear = name.endsWith("_proj.weight") || name.equals("lm_head.weight");
                if (!linear) {
                    assertEquals(s.dtype(), t.dtype(), name);
                    assertEquals(-1, src.segment(name).mismatch(q8.segment(name)), name + " is copied unchanged");
                    assertFalse(q8.contains(name + Q8.SCALE_SUFFIX));
                    continue;
                }
                quantised++;
                assertEquals(DType.I8, t.dtype(), name);
                TensorInfo scaleInfo = q8.info(name + Q8.SCALE_SUFFIX);
                assertEquals(DType.F32, scaleInfo.dtype());
                int rows = (int) s.shape()[0], cols = (int) s.shape()[1];
                assertArrayEquals(new long[] {rows, cols / 32}, scaleInfo.shape());
                MemorySegment v = q8.segment(name), sc = q8.segment(name + Q8.SCALE_SUFFIX), orig = src.segment(name);
                for (int i = 0; i < rows * cols; i++) {
                    float scale = sc.get(F32, 4L * (i / 32));
                    float x = Numbers.bf16ToFloat(orig.get(I16, 2L * i));
                    assertTrue(Math.abs(v.get(ValueLayout.JAVA_BYTE, i) * scale - x) <= scale / 2 + 1e-7f,
                            name + " value " + i);
                }
            }
            assertEquals(r.converted(), quantised);
            assertTrue(quantised > 0);
            assertFalse(q8.contains("model.layers.0.mlp.gate.weight" + Q8.SCALE_SUFFIX), "the router keeps its dtype");
        }
        BadInputException again = assertThrows(BadInputException.class,
                () -> Convert.runQ8(out, dir.resolve("again"), 1L << 30, false));
        assertTrue(again.getMessage().contains("already Q8_0"), again.getMessage());
    }

    @Test
    void verifyChecksTheScalesOfAQ8Checkpoint() throws Exception {
        Path out = dir.resolve("q8");
        Convert.runQ8(TINY, out, 1L << 30, false);
        Map<String, long[]> shapes = new LinkedHashMap<>();
        try (Checkpoint src = Checkpoint.open(TINY)) {
            for (String name : src.tensorNames()) shapes.put(name, src.info(name).shape());
        }
        try (WeightSource s = WeightSource.openDirectory(out)) {
            Verify.Report report = Verify.run(s, shapes, null);
            assertTrue(report.findings().isEmpty(), report.findings().toString());
        }
        try (WeightSource s = WeightSource.openDirectory(out); WeightSource b = WeightSource.openDirectory(TINY)) {
            Inspect.Report q = Inspect.run(s, null);
            assertEquals(Inspect.run(b, null).parameters(), q.parameters(), "scales are not parameters");
            assertEquals(q.tensors().stream().filter(t -> t.name().endsWith(Q8.SCALE_SUFFIX))
                    .mapToLong(t -> t.bytes() / 4).sum(), q.q8Scales());
            assertTrue(Inspect.toText(q).contains("Q8_0 scales: "), Inspect.toText(q));
        }
        // Without its scales the checkpoint is incomplete.
        Map<String, long[]> withScales = Q8.withScales(shapes);
        assertEquals(shapes.size() + 85, withScales.size(), "tiny-bf16 has 85 quantisable matrices");
    }
}
