package org.moescope.routing;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.errors.BadInputException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Parts of consecutive sample ranges merge into the file one writer of all the samples writes, byte for byte. */
class RouteMergeTest {
    @TempDir
    Path dir;

    static final long[] LENGTHS = {3, 1, 4, 2, 5};
    static final String[] IDS = {"a", "b", null, "d", "e"};
    static final int[] LOSS_STARTS = {1, 1, 2, 1, 1};

    /** A route file of samples [from, to) with values that depend only on the sample, as a trace's would. */
    private Path write(String name, int from, int to, boolean part) {
        int n = to - from;
        long[] offsets = new long[n + 1];
        for (int i = 0; i < n; i++) offsets[i + 1] = offsets[i] + LENGTHS[from + i];
        RouteFile.Dims dims = new RouteFile.Dims(n, offsets[n], 2, 2, 4, 5, 3, true, true, true, true);
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "moescope-routes");
        meta.put("sample_ids", json(Arrays.copyOfRange(IDS, from, to), true));
        meta.put("sample_groups", json(new String[n], true));
        int[] starts = Arrays.copyOfRange(LOSS_STARTS, from, to);
        if (Arrays.stream(starts).anyMatch(s -> s != 1)) { // as Tracer: only when some sample's is not 1
            meta.put("sample_loss_starts", Arrays.toString(starts).replace(" ", ""));
        }
        meta.put("created", "2026-01-0" + (part ? 1 + from % 5 : 1) + "T00:00:00Z");
        meta.put("model_path", "m");
        if (part) {
            meta.put(RouteMerge.PART_FIRST, Integer.toString(from));
            meta.put(RouteMerge.PART_LAST, Integer.toString(to));
            meta.put(RouteMerge.PART_TOTAL, "5");
        }
        Path out = dir.resolve(name);
        try (RouteFileWriter w = new RouteFileWriter(out, dims, offsets, meta)) {
            for (int i = 0; i < n; i++) {
                int s = from + i, t = (int) LENGTHS[s];
                w.writeTokenRows(RouteFile.Field.INPUT_IDS, i, ints(t, s));
                w.writeTokenRows(RouteFile.Field.TOPK_IDS, i, ints(t * 4, 7 * s));
                w.writeTokenRows(RouteFile.Field.TOPK_WEIGHTS, i, floats(t * 4, s));
                w.writeTokenRows(RouteFile.Field.ROUTER_LOGITS, i, floats(t * 8, s + 0.25f));
                w.writeTokenRows(RouteFile.Field.LOGITS, i, floats(t * 5, s + 0.5f));
                w.writeTokenRows(RouteFile.Field.SHARED_EXPERT_GATE, i, floats(t * 2, s + 0.75f));
                w.writeSampleRow(RouteFile.Field.ROUTER_PROBS_MEAN, i, floats(8, -s));
                w.writeSampleRow(RouteFile.Field.LOSS, i, new float[] {s / 3f});
                w.writeSampleRow(RouteFile.Field.HIDDEN_MEAN, i, floats(6, 2 * s));
            }
            w.commit();
        }
        return out;
    }

    @Test
    void partsMergeIntoTheFileOfAllSamples() throws Exception {
        Path whole = write("whole.safetensors", 0, 5, false);
        List<Path> parts = List.of(write(RouteMerge.partName(0, 2), 0, 2, true),
                write(RouteMerge.partName(2, 3), 2, 3, true), write(RouteMerge.partName(3, 5), 3, 5, true));
        Path merged = dir.resolve("merged.safetensors");
        RouteMerge.merge(parts, merged);
        // Only the first and last parts lack sample_loss_starts; "created" is the earliest part's, as in whole.
        assertArrayEquals(Files.readAllBytes(whole), Files.readAllBytes(merged));
    }

    @Test
    void aMissingOrForeignPartIsRefusedInOneLine() {
        Path a = write(RouteMerge.partName(0, 2), 0, 2, true);
        Path c = write(RouteMerge.partName(3, 5), 3, 5, true);
        Path out = dir.resolve("merged.safetensors");
        var gap = assertThrows(BadInputException.class, () -> RouteMerge.merge(List.of(a, c), out));
        assertTrue(gap.getMessage().contains("missing"), gap.getMessage());
        var tail = assertThrows(BadInputException.class, () -> RouteMerge.merge(List.of(a), out));
        assertTrue(tail.getMessage().contains("last parts are missing"), tail.getMessage());
        Path whole = write("whole.safetensors", 0, 5, false);
        var self = assertThrows(BadInputException.class, () -> RouteMerge.merge(List.of(whole), whole));
        assertTrue(self.getMessage().contains("is also one of the parts"), self.getMessage());
        assertFalse(Files.exists(out));
        assertEquals(List.of(a, c), RouteMerge.expand(List.of(dir)).stream().filter(p -> !p.equals(whole)).toList());
    }

    private static String json(String[] v, boolean nulls) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < v.length; i++) {
            if (i > 0) b.append(',');
            b.append(v[i] == null ? "null" : "\"" + v[i] + "\"");
        }
        return b.append(']').toString();
    }

    private static int[] ints(int n, int base) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) a[i] = base + i;
        return a;
    }

    private static float[] floats(int n, float base) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = base + i / 8f;
        return a;
    }
}
