package org.moescope.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.checkpoint.Checkpoint;
import org.moescope.errors.BadInputException;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.SafetensorsFile;
import org.moescope.safetensors.SafetensorsWriter;
import org.moescope.safetensors.TensorInfo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConvertTest {
    @TempDir
    Path dir;

    /** A checkpoint whose tensors are the golden file's four sources, BF16 stored as BF16 this time. */
    private Path goldenCheckpoint() throws Exception {
        Path ckpt = dir.resolve("golden-ckpt");
        Files.createDirectories(ckpt);
        try (SafetensorsFile g = SafetensorsFile.open(DTypeConversionGoldenTest.golden())) {
            List<SafetensorsWriter.Entry> entries = new ArrayList<>();
            for (String s : List.of("F32", "BF16", "F16", "F64")) {
                TensorInfo t = g.info("src." + s);
                entries.add(SafetensorsWriter.raw("src." + s, DType.valueOf(s), t.shape(),
                        java.lang.foreign.MemorySegment.ofArray(g.segment("src." + s).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))));
            }
            entries.add(SafetensorsWriter.ints("ids", new long[] {2}, new int[] {7, 8}));
            SafetensorsWriter.write(ckpt.resolve("model.safetensors"), Map.of("format", "pt"), entries);
        }
        Files.writeString(ckpt.resolve("config.json"), "{\"model_type\": \"test\", \"torch_dtype\": \"float32\", "
                + "\"dtype\": \"float32\", \"nested\": {\"a\": [1, 2]}}");
        Files.writeString(ckpt.resolve("tokenizer.json"), "{}");
        Files.writeString(ckpt.resolve(Manifest.DEFAULT_NAME), "stale");
        return ckpt;
    }

    @Test
    void convertedCheckpointMatchesTorchForEverySourceDtype() throws Exception {
        Path src = goldenCheckpoint();
        for (String target : List.of("bf16", "f16", "f32")) {
            Path out = dir.resolve("out-" + target);
            DType to = DTypeConversion.parseTarget(target);
            Convert.Result r = Convert.run(src, out, to, 40_000, false);
            assertTrue(r.shards().size() > 1, "40 KB shards split the 270 KB of sources");
            try (Checkpoint c = Checkpoint.open(out); SafetensorsFile g = SafetensorsFile.open(DTypeConversionGoldenTest.golden())) {
                for (String s : List.of("F32", "BF16", "F16", "F64")) {
                    TensorInfo t = c.info("src." + s);
                    assertEquals(to, t.dtype());
                    assertEquals(-1, c.segment("src." + s).mismatch(g.segment(s + ".to." + target)), s + "->" + target);
                }
                assertEquals(DType.I32, c.info("ids").dtype(), "integer tensors are copied unchanged");
                JsonNode config = c.config();
                assertEquals(to.torchName(), config.get("torch_dtype").textValue());
                assertEquals(to.torchName(), config.get("dtype").textValue());
                assertEquals(2, config.get("nested").get("a").get(1).intValue());
            }
            assertTrue(Files.exists(out.resolve("tokenizer.json")));
            assertFalse(Files.exists(out.resolve(Manifest.DEFAULT_NAME)), "a manifest of the old files is not copied");
        }
    }

    @Test
    void writesAnHfIndexForShards() throws Exception {
        Path out = dir.resolve("sharded");
        Convert.Result r = Convert.run(goldenCheckpoint(), out, DType.BF16, 20_000, false);
        int n = r.shards().size();
        JsonNode index = new ObjectMapper().readTree(out.resolve(Checkpoint.INDEX).toFile());
        long total = 0;
        long params = 0;
        try (WeightSource w = WeightSource.open(out)) {
            for (String name : w.tensorNames()) {
                total += w.info(name).byteSize();
                params += w.info(name).numElements();
                String shard = index.get("weight_map").get(name).textValue();
                assertTrue(shard.matches("model-0000[1-9]-of-0000" + n + "\\.safetensors"), shard);
                assertEquals("pt", w.fileOf(name).metadata().get("format"));
            }
        }
        assertEquals(total, index.get("metadata").get("total_size").longValue());
        assertEquals(params, index.get("metadata").get("total_parameters").longValue());
        List<String> keys = new ArrayList<>();
        index.get("weight_map").fieldNames().forEachRemaining(keys::add);
        assertEquals(keys.stream().sorted().toList(), keys, "weight_map is sorted like HF's");
    }

    @Test
    void refusesToWriteIntoItsInputOrOverAnExistingDirectory() throws Exception {
        Path src = goldenCheckpoint();
        BadInputException e = assertThrows(BadInputException.class, () -> Convert.run(src, src, DType.BF16, 1 << 30, true));
        assertTrue(e.getMessage().contains("is the input checkpoint"), e.getMessage());
        assertThrows(BadInputException.class, () -> Convert.run(src, dir, DType.BF16, 1 << 30, true));
        Path out = dir.resolve("exists");
        Files.createDirectories(out);
        Files.writeString(out.resolve("x"), "x");
        e = assertThrows(BadInputException.class, () -> Convert.run(src, out, DType.BF16, 1 << 30, false));
        assertTrue(e.getMessage().contains("--force"), e.getMessage());
        Convert.run(src, out, DType.BF16, 1 << 30, true);
        assertFalse(Files.exists(out.resolve("x")));
        try (Stream<Path> s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".")), "no temporary left behind");
        }
    }

    @Test
    void aFailureHalfwayLeavesNothingUnderTheTargetName() throws IOException {
        Path target = dir.resolve("never");
        assertThrows(IllegalStateException.class, () -> org.moescope.output.AtomicDirectory.write(target, false, "--out",
                tmp -> {
                    Files.writeString(tmp.resolve("half.safetensors"), "partial");
                    throw new IllegalStateException("disk on fire");
                }));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(0, s.count(), "neither the target nor the temporary directory remain");
        }
    }

    @Test
    void parsesHfSizes() {
        assertEquals(5_000_000_000L, ByteSizes.parse("5GB", "--max-shard-size"));
        assertEquals(2L << 30, ByteSizes.parse("2GiB", "--max-shard-size"));
        assertEquals(500_000_000L, ByteSizes.parse("500mb", "--max-shard-size"));
        assertEquals(1234, ByteSizes.parse("1234", "--max-shard-size"));
        assertThrows(BadInputException.class, () -> ByteSizes.parse("5 parsecs", "--max-shard-size"));
        assertThrows(BadInputException.class, () -> ByteSizes.parse("0", "--max-shard-size"));
        assertThrows(BadInputException.class, () -> DTypeConversion.parseTarget("int8"));
    }
}
