package org.moescope.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.moescope.e2e.CliTraceGenerateTest.run;

/** moescope bench on the tiny fixture: the JSON it prints, --phases, bad input. Speeds are not asserted. */
class CliBenchTest {
    private static JsonNode bench(String... extra) throws Exception {
        String[] base = {"bench", "--model", CliBackendTest.tiny(), "--samples", "3", "--sample-tokens", "9",
                "--prompt-tokens", "3", "--decode-tokens", "4", "--warmup", "0"};
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        var r = run(args);
        assertEquals(0, r.status(), r.err());
        return new ObjectMapper().readTree(r.out());
    }

    @Test
    void bothPhasesByDefault() throws Exception {
        JsonNode j = bench();
        assertEquals(27, j.get("prefill_tokens").asInt());
        assertTrue(j.get("prefill_tokens_per_second").asDouble() > 0);
        assertEquals(3, j.get("decode_tokens").asInt(), "tokens after the first");
        assertTrue(j.get("decode_tokens_per_second").asDouble() > 0);
        assertTrue(j.get("decode_allocated_bytes_per_token").asLong() >= 0, "heap allocated per decoded token reported");
        assertTrue(j.get("load_seconds").asDouble() >= 0);
        assertEquals("cpu", j.get("backend").asText());
        assertEquals(512, j.get("batch_tokens").asInt(), "the tiny fixture's default: at least 512");
        assertEquals(16, bench("--batch-tokens", "16").get("batch_tokens").asInt());
    }

    @Test
    void onePhaseLeavesTheOtherOut() throws Exception {
        JsonNode decode = bench("--phases", "decode");
        assertFalse(decode.has("prefill_tokens"));
        assertEquals(3, decode.get("decode_tokens").asInt());
        JsonNode prefill = bench("--phases", "prefill");
        assertFalse(prefill.has("decode_tokens"));
        assertFalse(prefill.has("time_to_first_token_seconds"));
        assertEquals(27, prefill.get("prefill_tokens").asInt());
    }

    @Test
    void prefillModeGenerateRunsEachSampleAsAPrompt() throws Exception {
        JsonNode trace = bench("--phases", "prefill");
        assertEquals("trace", trace.get("prefill_mode").asText());
        JsonNode gen = bench("--phases", "prefill", "--prefill-mode", "generate");
        assertEquals("generate", gen.get("prefill_mode").asText());
        assertEquals(27, gen.get("prefill_tokens").asInt());
        assertTrue(gen.get("prefill_tokens_per_second").asDouble() > 0);
        var r = run("bench", "--model", CliBackendTest.tiny(), "--prefill-mode", "batch");
        assertEquals(2, r.status());
        assertTrue(r.err().lines().findFirst().orElse("").contains("--prefill-mode"), r.err());
    }

    /**
     * "dtype" is how the experts' weights are stored: a Q8_0 checkpoint (weights convert --dtype q8_0: int8 plus
     * scales, config.json's dtype still bfloat16) reports q8_0, as its GGUF Q8_0 twin does.
     */
    @Test
    void dtypeIsTheExpertsStorage(@TempDir Path dir) throws Exception {
        assertEquals("bfloat16", bench("--phases", "decode").get("dtype").asText());
        Path q8 = dir.resolve("q8"), gguf = dir.resolve("q8.gguf");
        assertEquals(0, run("weights", "convert", CliBackendTest.tiny(), "--dtype", "q8_0", "--out", q8.toString()).status());
        assertEquals(0, run("weights", "convert", CliBackendTest.tiny(), "--to", "gguf", "--dtype", "q8_0", "--out",
                gguf.toString()).status());
        for (Path model : List.of(q8, gguf)) {
            var r = run("bench", "--model", model.toString(), "--phases", "decode", "--prompt-tokens", "3",
                    "--decode-tokens", "2", "--warmup", "0");
            assertEquals(0, r.status(), r.err());
            assertEquals("q8_0", new ObjectMapper().readTree(r.out()).get("dtype").asText(), model.toString());
        }
    }

    @Test
    void unknownPhaseIsAUsageError() {
        var r = run("bench", "--model", CliBackendTest.tiny(), "--phases", "prefill,train");
        assertEquals(2, r.status());
        var lines = r.err().strip().lines().toList();
        assertTrue(lines.get(0).contains("--phases") && lines.get(0).contains("train"), r.err());
        assertTrue(lines.size() <= 2, "the error and a pointer to --help, no stack trace: " + r.err());
    }
}
