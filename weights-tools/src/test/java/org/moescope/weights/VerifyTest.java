package org.moescope.weights;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.errors.BadInputException;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.SafetensorsWriter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VerifyTest {
    @TempDir
    Path dir;

    private static Map<String, long[]> shapes() {
        Map<String, long[]> m = new LinkedHashMap<>();
        for (Init.TensorPlan t : TinyCheckpoints.plan(2, 0.02)) m.put(t.name(), t.shape());
        return m;
    }

    private static Verify.Report verify(Path ckpt, Map<String, long[]> expected, Path manifest) {
        try (WeightSource src = WeightSource.open(ckpt)) {
            return Verify.run(src, expected, manifest);
        }
    }

    @Test
    void aFreshInitPassesEveryCheck() {
        Path ckpt = dir.resolve("ok");
        Init.run(TinyCheckpoints.plan(2, 0.02), TinyCheckpoints.config("torch_dtype"), DType.F32, 1, 3000, ckpt, false, 1);
        Verify.Report r = verify(ckpt, shapes(), null);
        assertTrue(r.ok(), r.findings().toString());
        assertEquals(List.of(), r.findings());
        assertTrue(r.files() > 1);
        assertEquals(shapes().size(), r.tensors());
    }

    @Test
    void findsNanAndInfWithTheTensorAndTheFirstIndex() throws IOException {
        Path ckpt = dir.resolve("nan");
        Files.createDirectories(ckpt);
        float[] v = new float[12];
        v[7] = Float.NaN;      // [1, 3] of a (2, 6) tensor
        v[9] = Float.NEGATIVE_INFINITY;
        short[] h = new short[5];
        h[4] = (short) 0x7C00; // +Inf in F16
        SafetensorsWriter.write(ckpt.resolve("model.safetensors"), Map.of("format", "pt"), List.of(
                SafetensorsWriter.floats("a", new long[] {2, 6}, v),
                SafetensorsWriter.raw("h", DType.F16, new long[] {5}, java.lang.foreign.MemorySegment.ofArray(h)),
                SafetensorsWriter.floats("fine", new long[] {3}, new float[] {1, 2, 3})));
        Files.writeString(ckpt.resolve("config.json"), "{\"model_type\":\"x\"}");
        Verify.Report r = verify(ckpt, null, null);
        assertFalse(r.ok());
        assertEquals(2, r.errors());
        Verify.Finding a = r.findings().get(0);
        assertEquals("a", a.subject());
        assertTrue(a.message().contains("1 NaN and 1 Inf") && a.message().contains("flat index 7 = [1, 1]"), a.message());
        assertTrue(r.findings().get(1).message().contains("0 NaN and 1 Inf of 5; first at flat index 4 = [4]"),
                r.findings().get(1).message());
    }

    @Test
    void reportsMissingUnexpectedAndMisshapenTensors() {
        Path ckpt = dir.resolve("shapes");
        TinyCheckpoints.init(ckpt, 1, DType.BF16);
        Map<String, long[]> expected = shapes();
        expected.remove("lm_head.weight");                                   // -> unexpected
        expected.put("model.layers.5.mlp.gate.weight", new long[] {2, 8});   // -> missing
        expected.put("model.norm.weight", new long[] {9});                    // -> wrong shape
        Verify.Report r = verify(ckpt, expected, null);
        assertEquals(3, r.errors(), r.findings().toString());
        String all = r.findings().toString();
        assertTrue(all.contains("model.layers.5.mlp.gate.weight: missing"), all);
        assertTrue(all.contains("lm_head.weight: not part of the architecture"), all);
        assertTrue(all.contains("model.norm.weight: shape [8] but config.json implies [9]"), all);
    }

    @Test
    void warnsAboutDtypeDisagreementAndAWrongIndexTotal() throws IOException {
        Path ckpt = dir.resolve("warn");
        Init.run(TinyCheckpoints.plan(2, 0.02), TinyCheckpoints.config("torch_dtype"), DType.BF16, 1, 1000, ckpt, false, 1);
        Path index = ckpt.resolve("model.safetensors.index.json");
        Files.writeString(index, Files.readString(index).replaceFirst("\"total_size\": \\d+", "\"total_size\": 5"));
        Files.writeString(ckpt.resolve("config.json"), Files.readString(ckpt.resolve("config.json"))
                .replace("bfloat16", "float32"));
        Verify.Report r = verify(ckpt, shapes(), null);
        assertTrue(r.ok(), "warnings do not fail verification");
        String all = r.findings().toString();
        assertTrue(all.contains("metadata.total_size is 5"), all);
        assertTrue(all.contains("says float32 but"), all);
    }

    @Test
    void checksAManifestAndNamesTheFileThatChanged() throws IOException {
        Path ckpt = dir.resolve("manifest");
        TinyCheckpoints.init(ckpt, 1, DType.BF16);
        Path manifest = Manifest.write(ckpt);
        assertEquals(2, Files.readAllLines(manifest).size());
        assertTrue(Files.readAllLines(manifest).get(0).matches("[0-9a-f]{64}  config\\.json"));
        Verify.Report ok = verify(ckpt, shapes(), manifest);
        assertTrue(ok.ok());
        assertEquals(2, ok.manifestFiles());
        Files.writeString(ckpt.resolve("config.json"), Files.readString(ckpt.resolve("config.json")) + " ");
        Verify.Report bad = verify(ckpt, shapes(), manifest);
        assertEquals(1, bad.errors());
        assertEquals("config.json", bad.findings().getFirst().subject());
    }

    @Test
    void rejectsMalformedManifestsWithTheLine() throws IOException {
        Path m = dir.resolve("SUMS");
        Files.writeString(m, "# comment\n\n" + "a".repeat(64) + "  ok.bin\nnot a line\n");
        BadInputException e = assertThrows(BadInputException.class, () -> Manifest.parse(m));
        assertTrue(e.getMessage().contains("line 4"), e.getMessage());
        Files.writeString(m, "a".repeat(64) + "  ../outside\n");
        e = assertThrows(BadInputException.class, () -> Manifest.parse(m));
        assertTrue(e.getMessage().contains("stay inside"), e.getMessage());
        Files.writeString(m, "a".repeat(64) + " */etc/passwd\n");
        assertThrows(BadInputException.class, () -> Manifest.parse(m));
        List<Manifest.Entry> entries = List.of(new Manifest.Entry("a".repeat(64), "missing.bin"));
        assertEquals(null, Manifest.check(dir, entries).getFirst().actual());
    }

    @Test
    void nonFiniteScanAgreesWithANaiveScanOnRandomPlacements() {
        java.util.SplittableRandom rng = new java.util.SplittableRandom(3);
        for (int round = 0; round < 200; round++) {
            int n = 1 + rng.nextInt(70);
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                int kind = rng.nextInt(10);
                v[i] = kind == 0 ? Float.NaN : kind == 1 ? Float.POSITIVE_INFINITY : kind == 2 ? -Float.MAX_VALUE
                        : (float) rng.nextGaussian();
            }
            for (DType d : List.of(DType.F32, DType.BF16, DType.F16, DType.F64)) {
                java.lang.foreign.MemorySegment seg = java.lang.foreign.Arena.ofAuto().allocate((long) n * d.byteSize());
                long nan = 0, inf = 0, first = -1;
                for (int i = 0; i < n; i++) {
                    float x = v[i];
                    switch (d) {
                        case F32 -> seg.set(LittleEndian.F32, 4L * i, x);
                        case BF16 -> {
                            short s = org.moescope.safetensors.Numbers.floatToBf16(x);
                            seg.set(LittleEndian.I16, 2L * i, s);
                            x = org.moescope.safetensors.Numbers.bf16ToFloat(s); // -MAX rounds to -Inf in BF16
                        }
                        case F16 -> {
                            short s = org.moescope.safetensors.Numbers.floatToF16(x);
                            seg.set(LittleEndian.I16, 2L * i, s);
                            x = org.moescope.safetensors.Numbers.f16ToFloat(s); // -MAX overflows to -Inf in F16
                        }
                        default -> seg.set(LittleEndian.F64, 8L * i, x);
                    }
                    if (Float.isNaN(x)) nan++;
                    if (Float.isInfinite(x)) inf++;
                    if (!Float.isFinite(x) && first < 0) first = i;
                }
                NonFiniteScan.Result r = NonFiniteScan.scan(
                        new org.moescope.safetensors.TensorInfo("t", d, new long[] {n}, 0, (long) n * d.byteSize()), seg);
                assertEquals(new NonFiniteScan.Result(nan, inf, first), r, d + " round " + round);
            }
        }
    }
}
