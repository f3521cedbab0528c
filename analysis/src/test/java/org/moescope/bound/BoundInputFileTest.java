package org.moescope.bound;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.errors.BadInputException;
import org.moescope.routing.RouteFile;
import org.moescope.routing.RouteFileWriter;
import org.moescope.safetensors.SafetensorsWriter;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class BoundInputFileTest {
    @TempDir
    Path dir;

    @Test
    void readsF32AndF64TensorsAndOptionalOnes() {
        Path file = dir.resolve("in.safetensors");
        SafetensorsWriter.write(file, Map.of(), List.of(
                SafetensorsWriter.floats("X", new long[] {3, 2}, new float[] {1, 0, 0, 1, 0.5f, 0.5f}),
                SafetensorsWriter.doubles("G", new long[] {3, 2}, new double[] {1, 0, 0.25, 0.75, 0, 1}),
                SafetensorsWriter.doubles("y", new long[] {3}, new double[] {0.1, -0.2, 0.3}),
                SafetensorsWriter.floats("unrelated", new long[] {1}, new float[] {7})));
        BoundInput in = BoundInputFile.read(file);
        assertArrayEquals(new double[] {0.5, 0.5}, in.x()[2], 0.0);
        assertArrayEquals(new double[] {0.25, 0.75}, in.g()[1], 0.0);
        assertArrayEquals(new double[] {0.1, -0.2, 0.3}, in.y(), 0.0);
        assertNull(in.f());
        assertNull(in.gTest());
        assertEquals(file.toString(), in.source());
    }

    @Test
    void wrongRankOrDtypeNamesTheTensor() {
        Path rank = dir.resolve("rank.safetensors");
        SafetensorsWriter.write(rank, Map.of(), List.of(
                SafetensorsWriter.floats("X", new long[] {6}, new float[6]),
                SafetensorsWriter.floats("G", new long[] {3, 1}, new float[] {1, 1, 1}),
                SafetensorsWriter.floats("y", new long[] {3}, new float[3])));
        assertEquals(rank + ": tensor X must have rank 2, has shape [6]",
                assertThrows(BadInputException.class, () -> BoundInputFile.read(rank)).getMessage());
        Path dtype = dir.resolve("dtype.safetensors");
        SafetensorsWriter.write(dtype, Map.of(), List.of(
                SafetensorsWriter.floats("X", new long[] {3, 2}, new float[6]),
                SafetensorsWriter.floats("G", new long[] {3, 1}, new float[] {1, 1, 1}),
                SafetensorsWriter.ints("y", new long[] {3}, new int[3])));
        assertEquals(dtype + ": tensor y has dtype I32, expected F32 or F64",
                assertThrows(BadInputException.class, () -> BoundInputFile.read(dtype)).getMessage());
        Path missing = dir.resolve("missing.safetensors");
        SafetensorsWriter.write(missing, Map.of(), List.of(
                SafetensorsWriter.floats("X", new long[] {3, 2}, new float[6]),
                SafetensorsWriter.floats("y", new long[] {3}, new float[3])));
        assertEquals(missing + ": tensor G is missing",
                assertThrows(BadInputException.class, () -> BoundInputFile.read(missing)).getMessage());
    }

    @Test
    void routeFileLayerGivesGatesHiddenStatesAndLoss() {
        // 3 samples of 1, 2, 2 tokens; 2 layers, top-1 of 2 experts, hidden size 3; sample 0's loss is NaN
        RouteFile.Dims dims = new RouteFile.Dims(3, 5, 2, 1, 2, 0, 3, false, false, true);
        Path out = dir.resolve("routes.safetensors");
        try (RouteFileWriter w = new RouteFileWriter(out, dims, new long[] {0, 1, 3, 5}, Map.of())) {
            for (int s = 0; s < 3; s++) {
                int tokens = s == 0 ? 1 : 2;
                w.writeTokenRows(RouteFile.Field.INPUT_IDS, s, new int[tokens]);
                w.writeTokenRows(RouteFile.Field.TOPK_IDS, s, new int[tokens * 2]);
                w.writeTokenRows(RouteFile.Field.TOPK_WEIGHTS, s, new float[tokens * 2]);
                // (layers, experts): layer 1 of sample s is (0.1·s, 1 − 0.1·s)
                w.writeSampleRow(RouteFile.Field.ROUTER_PROBS_MEAN, s, new float[] {0.5f, 0.5f, 0.1f * s, 1 - 0.1f * s});
                w.writeSampleRow(RouteFile.Field.LOSS, s, new float[] {s == 0 ? Float.NaN : s + 0.5f});
                // (layers, hidden): layer 1 of sample s is (s, s + 1, s + 2)
                w.writeSampleRow(RouteFile.Field.HIDDEN_MEAN, s, new float[] {-1, -1, -1, s, s + 1, s + 2});
            }
            w.commit();
        }
        BoundInputFile.RouteInput r = BoundInputFile.fromRoutes(out, 1);
        assertEquals(1, r.droppedSamples());
        BoundInput in = r.input();
        assertEquals(2, in.n());
        assertArrayEquals(new double[] {1.5, 2.5}, in.y(), 0.0);
        assertArrayEquals(new double[] {0.1f, 1 - 0.1f}, in.g()[0], 0.0);
        assertArrayEquals(new double[] {2, 3, 4}, in.x()[1], 0.0);
        assertEquals("--layer must lie in [0, 1] for " + out + ", got 2",
                assertThrows(BadInputException.class, () -> BoundInputFile.fromRoutes(out, 2)).getMessage());
    }
}
