package org.moescope.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.safetensors.DType;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class InspectTest {
    @TempDir
    Path dir;

    @Test
    void countsParametersPerDtypeAndListsShardsAndTensors() throws Exception {
        Path ckpt = dir.resolve("c");
        Init.run(TinyCheckpoints.plan(2, 0.02), TinyCheckpoints.config("torch_dtype"), DType.BF16, 1, 1500, ckpt, false, 1);
        long expected = TinyCheckpoints.plan(2, 0.02).stream().mapToLong(Init.TensorPlan::elements).sum();
        ArchitectureSummary arch = new ArchitectureSummary("olmoe", Map.of("layers", 2), expected, 123L, null);
        try (WeightSource src = WeightSource.open(ckpt)) {
            Inspect.Report r = Inspect.run(src, arch);
            assertEquals(expected, r.parameters());
            assertEquals(2 * expected, r.tensorBytes());
            assertEquals(1, r.dtypes().size());
            assertTrue(r.files().size() > 1);
            assertEquals("model.embed_tokens.weight", r.tensors().getFirst().name(), "storage order, not alphabetical");
            String text = Inspect.toText(r);
            assertTrue(text.contains("123 active per token"), text);
            assertTrue(text.contains("model-00001-of-"), text);
            JsonNode json = new ObjectMapper().readTree(Inspect.toJson(r));
            assertEquals(expected, json.get("parameters").get("total").longValue());
            assertEquals(123, json.get("parameters").get("active_per_token").longValue());
            assertEquals(r.tensors().size(), json.get("tensors").size());
            assertEquals("pt", json.get("metadata").get("format").textValue());
        }
        try (WeightSource file = WeightSource.open(ckpt.resolve("model-00001-of-" + String.format("%05d",
                WeightSource.open(ckpt).files().size()) + ".safetensors"))) {
            Inspect.Report r = Inspect.run(file, null);
            assertTrue(Inspect.toText(r).startsWith("file "));
        }
    }
}
