package org.moescope.weights;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.checkpoint.Checkpoint;
import org.moescope.errors.BadInputException;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.SafetensorsFile;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class InitTest {
    @TempDir
    Path dir;

    @Test
    void writesHfLikeInitNormsOnesPaddingRowZeroAndStd() {
        Path out = dir.resolve("ckpt");
        Init.Result r = TinyCheckpoints.init(out, 5, DType.F32);
        assertEquals(1, r.shards().size());
        try (Checkpoint c = Checkpoint.open(out)) {
            assertEquals("float32", c.config().get("torch_dtype").textValue());
            for (String name : c.tensorNames()) {
                float[] v = c.readFloats(name);
                if (name.endsWith("norm.weight")) {
                    for (float x : v) assertEquals(1f, x);
                }
            }
            float[] emb = c.readFloats("model.embed_tokens.weight");
            for (int i = 0; i < TinyCheckpoints.HIDDEN; i++) {
                assertEquals(0f, emb[TinyCheckpoints.HIDDEN + i], "padding row 1 is zero");
                assertNotEquals(0f, emb[i]);
            }
        }
    }

    @Test
    void largeTensorHasTheRequestedStdAndSpansSeveralBlocks() throws IOException {
        Path out = dir.resolve("big");
        long rows = 3 * Init.BLOCK / 1024 + 17; // not a whole number of blocks
        Init.run(List.of(new Init.TensorPlan("w", new long[] {rows, 1024}, new Init.Normal(0.5, -1))),
                TinyCheckpoints.config("dtype"), DType.BF16, 9, CheckpointWriter.DEFAULT_MAX_SHARD, out, false, 3);
        try (SafetensorsFile f = SafetensorsFile.open(out.resolve("model.safetensors"))) {
            float[] v = f.readFloats("w");
            double s = 0, s2 = 0;
            for (float x : v) {
                s += x;
                s2 += (double) x * x;
            }
            assertEquals(0, s / v.length, 0.002);
            assertEquals(0.5, Math.sqrt(s2 / v.length), 0.002);
            // the blocks are independent streams: block 0 and block 1 must not repeat each other
            assertNotEquals(v[0], v[Init.BLOCK]);
        }
        assertEquals("bfloat16", new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(out.resolve("config.json").toFile()).get("dtype").textValue());
    }

    @Test
    void scalarsAndEmptyTensorsAreFine() {
        Path out = dir.resolve("odd");
        Init.run(List.of(new Init.TensorPlan("scalar", new long[] {}, new Init.Normal(1, 0)),
                        new Init.TensorPlan("empty", new long[] {0, 4}, new Init.Normal(1, 0)),
                        new Init.TensorPlan("one", new long[] {3}, new Init.Constant(2.5f))),
                TinyCheckpoints.config("dtype"), DType.F32, 1, CheckpointWriter.DEFAULT_MAX_SHARD, out, false, 1);
        try (SafetensorsFile f = SafetensorsFile.open(out.resolve("model.safetensors"))) {
            assertEquals(0f, f.readFloats("scalar")[0], "row 0 of a scalar is the scalar: zeroed");
            assertEquals(0, f.readFloats("empty").length);
            assertArrayEquals(new float[] {2.5f, 2.5f, 2.5f}, f.readFloats("one"));
        }
    }

    @Test
    void sameSeedSameBytesWhateverTheThreadsDifferentSeedDifferentBytes() throws IOException {
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        Path c = dir.resolve("c");
        List<Init.TensorPlan> plan = TinyCheckpoints.plan(2, 0.02);
        Init.run(plan, TinyCheckpoints.config("torch_dtype"), DType.BF16, 11, CheckpointWriter.DEFAULT_MAX_SHARD, a, false, 1);
        Init.run(plan, TinyCheckpoints.config("torch_dtype"), DType.BF16, 11, CheckpointWriter.DEFAULT_MAX_SHARD, b, false, 4);
        Init.run(plan, TinyCheckpoints.config("torch_dtype"), DType.BF16, 12, CheckpointWriter.DEFAULT_MAX_SHARD, c, false, 1);
        byte[] fa = Files.readAllBytes(a.resolve("model.safetensors"));
        assertArrayEquals(fa, Files.readAllBytes(b.resolve("model.safetensors")));
        assertFalse(java.util.Arrays.equals(fa, Files.readAllBytes(c.resolve("model.safetensors"))));
    }

    @Test
    void f32InitConvertedToBf16EqualsBf16InitAndShardingDoesNotChangeValues() {
        Path f32 = dir.resolve("f32");
        Path bf16 = dir.resolve("bf16");
        Path converted = dir.resolve("converted");
        TinyCheckpoints.init(f32, 3, DType.F32);
        Init.run(TinyCheckpoints.plan(2, 0.02), TinyCheckpoints.config("torch_dtype"), DType.BF16, 3, 2000, bf16, false, 2);
        Convert.run(f32, converted, DType.BF16, CheckpointWriter.DEFAULT_MAX_SHARD, false);
        try (WeightSource x = WeightSource.open(bf16); WeightSource y = WeightSource.open(converted)) {
            assertTrue(x.files().size() > 1, "bf16 init is sharded at 2 KB");
            assertEquals(x.tensorNames(), y.tensorNames());
            for (String name : x.tensorNames()) {
                assertEquals(-1, x.segment(name).mismatch(y.segment(name)), name);
            }
        }
    }

    @Test
    void refusesANonEmptyOutputUnlessForcedAndLeavesNoTemporaryDirectory() throws IOException {
        Path out = dir.resolve("out");
        Files.createDirectories(out);
        Files.writeString(out.resolve("keep.txt"), "x");
        BadInputException e = assertThrows(BadInputException.class, () -> TinyCheckpoints.init(out, 1, DType.BF16));
        assertTrue(e.getMessage().contains("not empty; use --force"), e.getMessage());
        assertTrue(Files.exists(out.resolve("keep.txt")));
        Init.run(TinyCheckpoints.plan(1, 0.02), TinyCheckpoints.config("dtype"), DType.BF16, 1,
                CheckpointWriter.DEFAULT_MAX_SHARD, out, true, 1);
        assertFalse(Files.exists(out.resolve("keep.txt")));
        assertTrue(Files.exists(out.resolve("model.safetensors")));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of("out"), s.map(p -> p.getFileName().toString()).toList(), "no temporary left behind");
        }
    }
}
