package org.moescope.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.pathways.DistanceKind;
import org.moescope.pathways.GroupDistances;
import org.moescope.pathways.Pathway;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.moescope.e2e.CliTraceGenerateTest.fixtures;
import static org.moescope.e2e.CliTraceGenerateTest.run;

/** trace → pathways on the bundled samples: the JSON contract and group means recomputed from the pathway strings. */
class CliPathwaysTest {
    @TempDir
    Path dir;

    @Test
    void pathwaysJsonHoldsTheContractKeysAndConsistentGroupMeans() throws Exception {
        Path model = fixtures().resolve("models/tiny-f32");
        Path routes = dir.resolve("r.safetensors");
        assertEquals(0, run("trace", "--model", model.toString(), "--data", fixtures().resolve("samples/tiny.jsonl").toString(),
                "--out", routes.toString()).status());
        Path out = dir.resolve("p.json");
        var r = run("pathways", "--routes", routes.toString(), "--model", model.toString(), "--out", out.toString());
        assertEquals(0, r.status(), r.err());
        JsonNode root = new ObjectMapper().readTree(out.toFile());
        assertEquals(0.7, root.get("tau").asDouble());
        assertEquals(6, root.get("samples").size());
        for (JsonNode s : root.get("samples")) {
            for (String k : List.of("index", "id", "group", "pathway", "layer_cosine_mean", "consistency_v4")) {
                assertTrue(s.has(k), "sample key " + k);
            }
            assertEquals(3, s.get("pathway").asText().split("-").length, "one segment per layer");
        }
        assertEquals(2, root.get("groups").size());
        for (JsonNode g : root.get("groups")) {
            for (String k : List.of("group", "n_samples", "n_pairs", "mean_distance_char", "mean_distance_expert",
                    "mean_layer_cosine", "mean_consistency_v4")) {
                assertTrue(g.has(k), "group key " + k);
            }
            List<Pathway> ps = new java.util.ArrayList<>();
            for (JsonNode s : root.get("samples")) {
                if (s.get("group").asText().equals(g.get("group").asText())) ps.add(Pathway.parse(s.get("pathway").asText()));
            }
            double sum = 0;
            int pairs = 0;
            for (int i = 0; i < ps.size(); i++) {
                for (int j = i + 1; j < ps.size(); j++) {
                    sum += GroupDistances.distance(ps.get(i), ps.get(j), DistanceKind.CHARACTER);
                    pairs++;
                }
            }
            assertEquals(pairs, g.get("n_pairs").asInt());
            assertEquals(sum / pairs, g.get("mean_distance_char").asDouble(), 1e-12);
        }
        var wrong = run("pathways", "--routes", routes.toString(), "--model", fixtures().resolve("models/tiny-gqa-f32").toString(),
                "--out", dir.resolve("x.json").toString());
        assertEquals(2, wrong.status());
        assertTrue(wrong.err().contains("config_sha256 differs"), wrong.err());
    }
}
