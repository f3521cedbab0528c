package org.moescope.weights;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.errors.BadInputException;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.SafetensorsWriter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DiffTest {
    @TempDir
    Path dir;

    private Path file(String name, Map<String, float[]> tensors) {
        Path p = dir.resolve(name + ".safetensors");
        SafetensorsWriter.write(p, null, tensors.entrySet().stream()
                .map(e -> SafetensorsWriter.floats(e.getKey(), new long[] {e.getValue().length}, e.getValue())).toList());
        return p;
    }

    @Test
    void classifiesHfNamesIntoComponentsAndLayers() {
        assertEquals(Component.ROUTER, Component.of("model.layers.3.mlp.gate.weight"));
        assertEquals(Component.EXPERTS, Component.of("model.layers.3.mlp.experts.12.gate_proj.weight"));
        assertEquals(Component.ATTENTION, Component.of("model.layers.0.self_attn.o_proj.weight"));
        assertEquals(Component.NORMS, Component.of("model.layers.0.self_attn.q_norm.weight"));
        assertEquals(Component.NORMS, Component.of("model.layers.0.post_attention_layernorm.weight"));
        assertEquals(Component.NORMS, Component.of("model.norm.weight"));
        assertEquals(Component.EMBEDDINGS, Component.of("model.embed_tokens.weight"));
        assertEquals(Component.EMBEDDINGS, Component.of("lm_head.weight"));
        assertEquals(Component.OTHER, Component.of("rotary.inv_freq"));
        assertEquals(3, Component.layerOf("model.layers.3.mlp.gate.weight"));
        assertEquals(-1, Component.layerOf("model.norm.weight"));
    }

    @Test
    void relativeChangesOfTensorsAndGroupsAreFrobeniusRatios() {
        // router layer 0: A = (3, 4), B = (3, 4) + (0, 1)  -> ||B-A|| = 1, ||A|| = 5
        // router layer 1: A = (1, 0), B = (1, 2)            -> ||B-A|| = 2, ||A|| = 1
        // router all:  sqrt(1 + 4) / sqrt(25 + 1)
        Path a = file("a", Map.of("model.layers.0.mlp.gate.weight", new float[] {3, 4},
                "model.layers.1.mlp.gate.weight", new float[] {1, 0},
                "model.norm.weight", new float[] {1, 1},
                "only.in.a", new float[] {1}));
        Path b = file("b", Map.of("model.layers.0.mlp.gate.weight", new float[] {3, 5},
                "model.layers.1.mlp.gate.weight", new float[] {1, 2},
                "model.norm.weight", new float[] {1, 1}));
        Diff.Result r = Diff.compare(a, b);
        Diff.TensorChange l0 = r.tensors().stream().filter(t -> t.layer() == 0).findFirst().orElseThrow();
        assertEquals(0.2, l0.relChange(), 1e-12);
        Diff.GroupChange router = r.component(Component.ROUTER);
        assertEquals(Math.sqrt(5) / Math.sqrt(26), router.relChange(), 1e-12);
        assertEquals(2, router.tensors());
        assertEquals(0.0, r.component(Component.NORMS).relChange());
        assertEquals(List.of("only.in.a"), r.onlyInA());
        String text = DiffReport.text(r);
        assertTrue(text.contains("router") && text.contains("1 only in a"), text);
        String csv = DiffReport.groupsCsv(r);
        assertTrue(csv.startsWith(DiffReport.GROUPS_HEADER + "\n"));
        assertTrue(csv.contains("router,1,1,2,1.0,"), csv);
        assertTrue(csv.contains("router,all,2,4,"), csv);
        assertTrue(csv.contains("norms,none,1,2,"), csv);
    }

    @Test
    void comparesAcrossDtypesAndRejectsShapeMismatch() {
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        TinyCheckpoints.init(a, 1, DType.F32);
        Convert.run(a, b, DType.BF16, CheckpointWriter.DEFAULT_MAX_SHARD, false);
        Diff.Result r = Diff.compare(a, b);
        for (Diff.TensorChange t : r.tensors()) {
            assertTrue(t.relChange() < 0.005, t.name() + " " + t.relChange()); // bf16 rounding: < 2^-8 relative
        }
        assertTrue(r.component(Component.EXPERTS).relChange() > 0);
        Path c = file("c", Map.of("model.embed_tokens.weight", new float[] {1, 2, 3}));
        BadInputException e = assertThrows(BadInputException.class, () -> Diff.compare(a, c));
        assertTrue(e.getMessage().contains("has shape [3] but [32, 8]"), e.getMessage());
    }

    @Test
    void seriesWritesCsvTable3AndChart() throws IOException {
        List<Path> ckpts = List.of(dir.resolve("step-100"), dir.resolve("step-20"), dir.resolve("step-3"));
        for (int i = 0; i < ckpts.size(); i++) {
            TinyCheckpoints.init(ckpts.get(i), i, DType.F32);
        }
        List<Path> ordered = DiffReport.expandSeries(List.of(dir));
        assertEquals(List.of("step-3", "step-20", "step-100"), ordered.stream().map(p -> p.getFileName().toString()).toList());
        List<Diff.Result> steps = List.of(Diff.compare(ordered.get(0), ordered.get(1)), Diff.compare(ordered.get(1), ordered.get(2)));
        List<ParameterDynamics.Row> rows = ParameterDynamics.table(steps);
        Path out = dir.resolve("report");
        List<Path> written = DiffReport.writeSeries(out, steps, rows);
        assertEquals(3, written.size());
        List<String> table3 = Files.readAllLines(out.resolve("table3.csv"));
        assertEquals(DiffReport.TABLE3_HEADER, table3.getFirst());
        assertTrue(table3.stream().anyMatch(l -> l.startsWith("router,all,2,")), table3.toString());
        assertTrue(table3.stream().anyMatch(l -> l.startsWith("experts,1,2,")), table3.toString());
        byte[] png = Files.readAllBytes(out.resolve("series.png"));
        assertEquals((byte) 0x89, png[0]);
        assertEquals('P', png[1]);
        List<String> series = Files.readAllLines(out.resolve("series.csv"));
        assertEquals(DiffReport.SERIES_HEADER, series.getFirst());
        assertTrue(series.get(1).startsWith("1,step-3,step-20,"), series.get(1));
        assertThrows(BadInputException.class, () -> DiffReport.expandSeries(List.of(ckpts.getFirst())));
    }
}
