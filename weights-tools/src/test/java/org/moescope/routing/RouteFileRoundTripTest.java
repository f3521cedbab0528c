package org.moescope.routing;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.errors.BadInputException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class RouteFileRoundTripTest {
    @TempDir
    Path dir;

    @Test
    void samplesWrittenOutOfOrderReadBackInPlace() {
        // 2 samples (3 and 2 tokens), 2 layers, top-2 of 4 experts, logits over a vocab of 5.
        RouteFile.Dims dims = new RouteFile.Dims(2, 5, 2, 2, 4, 5, 0, true, true, false);
        Path out = dir.resolve("r.safetensors");
        try (RouteFileWriter w = new RouteFileWriter(out, dims, new long[] {0, 3, 5},
                Map.of("sample_ids", "[\"x\",null]", "sample_groups", "[\"g\",\"g\"]"))) {
            for (int s : new int[] {1, 0}) {
                int tokens = s == 0 ? 3 : 2;
                w.writeTokenRows(RouteFile.Field.INPUT_IDS, s, fill(tokens, 10 * s));
                w.writeTokenRows(RouteFile.Field.TOPK_IDS, s, fill(tokens * 4, 100 * s));
                w.writeTokenRows(RouteFile.Field.TOPK_WEIGHTS, s, ffill(tokens * 4, s));
                w.writeTokenRows(RouteFile.Field.ROUTER_LOGITS, s, ffill(tokens * 8, s));
                w.writeTokenRows(RouteFile.Field.LOGITS, s, ffill(tokens * 5, s));
                w.writeSampleRow(RouteFile.Field.ROUTER_PROBS_MEAN, s, ffill(8, s));
                w.writeSampleRow(RouteFile.Field.LOSS, s, new float[] {s + 0.5f});
            }
            assertFalse(Files.exists(out), "file must appear only on commit");
            w.commit();
        }
        try (RouteFile r = RouteFile.open(out)) {
            assertEquals(dims, r.dims());
            assertArrayEquals(new long[] {0, 3, 5}, r.sampleOffsets());
            assertArrayEquals(fill(2, 10), r.inputIds(1));
            assertArrayEquals(fill(12, 0), r.topkIds(0));
            assertArrayEquals(ffill(16, 1), r.routerLogits(1));
            assertArrayEquals(new float[] {0.5f, 1.5f}, r.loss());
            float[] probs = r.routerProbsMean();
            assertArrayEquals(ffill(8, 1), Arrays.copyOfRange(probs, 8, 16));
            assertEquals(Arrays.asList("x", null), r.sampleIds());
            assertEquals(List.of("g", "g"), r.sampleGroups());
        }
    }

    @Test
    void abandonedWriterLeavesNothing() throws Exception {
        RouteFile.Dims dims = new RouteFile.Dims(1, 1, 1, 1, 2, 0, 0, false, false, false);
        Path out = dir.resolve("r.safetensors");
        try (RouteFileWriter w = new RouteFileWriter(out, dims, new long[] {0, 1}, Map.of())) {
            w.writeSampleRow(RouteFile.Field.LOSS, 0, new float[] {1});
        }
        try (var files = Files.list(dir)) {
            assertEquals(0, files.count());
        }
    }

    @Test
    void aResumableWriterKeepsItsPartialFileAndRefusesASecondWriter() throws Exception {
        RouteFile.Dims dims = new RouteFile.Dims(1, 1, 1, 1, 2, 0, 0, false, false, false);
        Path out = dir.resolve("r.safetensors");
        try (RouteFileWriter w = RouteFileWriter.resumable(out, dims, new long[] {0, 1}, Map.of("created", "1"))) {
            assertFalse(w.reopened());
            w.writeSampleRow(RouteFile.Field.LOSS, 0, new float[] {7});
            BadInputException e = assertThrows(BadInputException.class,
                    () -> RouteFileWriter.resumable(out, dims, new long[] {0, 1}, Map.of("created", "1")));
            assertTrue(e.getMessage().contains("another trace is writing it"), e.getMessage());
        }
        assertTrue(Files.exists(RouteFileWriter.partialPath(out)), "kept for the next run");
        // Same header apart from "created": reopened with its rows; another header: started over.
        try (RouteFileWriter w = RouteFileWriter.resumable(out, dims, new long[] {0, 1}, Map.of("created", "2"))) {
            assertTrue(w.reopened());
            w.commit();
        }
        try (RouteFile r = RouteFile.open(out)) {
            assertArrayEquals(new float[] {7}, r.loss());
        }
        try (RouteFileWriter w = RouteFileWriter.resumable(out, dims, new long[] {0, 1}, Map.of("model", "a"))) {
            w.writeSampleRow(RouteFile.Field.LOSS, 0, new float[] {7});
        }
        try (RouteFileWriter w = RouteFileWriter.resumable(out, dims, new long[] {0, 1}, Map.of("model", "b"))) {
            assertFalse(w.reopened());
            w.commit();
        }
        try (RouteFile r = RouteFile.open(out)) {
            assertArrayEquals(new float[] {0}, r.loss(), "nothing of the other run's file is kept");
        }
    }

    /**
     * A partial file whose sample offsets were never written (the run was killed between pre-sizing the file and
     * writing them: MonitorResumeTest's kill once landed there, and the resumed run committed a file with zero offsets)
     * or that holds other offsets is not reopened.
     */
    @Test
    void aPartialFileWithoutThisWritersOffsetsIsStartedOver() throws Exception {
        RouteFile.Dims dims = new RouteFile.Dims(2, 3, 1, 1, 2, 0, 0, false, false, false);
        Path out = dir.resolve("r.safetensors");
        try (RouteFileWriter w = RouteFileWriter.resumable(out, dims, new long[] {0, 1, 3}, Map.of())) {
            w.writeSampleRow(RouteFile.Field.LOSS, 0, new float[] {7});
        }
        Path partial = RouteFileWriter.partialPath(out);
        try (RouteFileWriter w = RouteFileWriter.resumable(out, dims, new long[] {0, 2, 3}, Map.of())) {
            assertFalse(w.reopened(), "other samples' offsets");
        }
        try (RouteFileWriter w = RouteFileWriter.resumable(out, dims, new long[] {0, 1, 3}, Map.of())) {
            assertFalse(w.reopened());
        }
        // Zero the offsets (found through the header's sample_offsets entry), as a kill before they were written leaves
        // them.
        try (FileChannel ch = FileChannel.open(partial, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(len, 0);
            byte[] header = new byte[(int) len.getLong(0)];
            ch.read(ByteBuffer.wrap(header), 8);
            var offsets = new ObjectMapper().readTree(header).get("sample_offsets");
            long offsetsAt = 8 + header.length + offsets.get("data_offsets").get(0).asLong();
            ch.write(ByteBuffer.allocate(3 * 8), offsetsAt);
        }
        try (RouteFileWriter w = RouteFileWriter.resumable(out, dims, new long[] {0, 1, 3}, Map.of())) {
            assertFalse(w.reopened(), "zero offsets");
            w.commit();
        }
        try (RouteFile r = RouteFile.open(out)) {
            assertArrayEquals(new long[] {0, 1, 3}, r.sampleOffsets());
        }
    }

    @Test
    void aDirectoryAsTheTargetIsBadInput() throws Exception {
        RouteFile.Dims dims = new RouteFile.Dims(1, 1, 1, 1, 2, 0, 0, false, false, false);
        Path out = Files.createDirectory(dir.resolve("routes"));
        for (boolean resumable : new boolean[] {false, true}) {
            BadInputException e = assertThrows(BadInputException.class, () -> {
                try (RouteFileWriter w = resumable ? RouteFileWriter.resumable(out, dims, new long[] {0, 1}, Map.of())
                        : new RouteFileWriter(out, dims, new long[] {0, 1}, Map.of())) {
                    w.commit();
                }
            });
            assertTrue(e.getMessage().contains("is a directory"), e.getMessage());
        }
    }

    private static int[] fill(int n, int base) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) a[i] = base + i;
        return a;
    }

    private static float[] ffill(int n, int base) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = base + i / 8f;
        return a;
    }
}
