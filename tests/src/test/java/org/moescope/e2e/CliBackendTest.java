package org.moescope.e2e;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.moescope.e2e.CliTraceGenerateTest.run;

/** --backend through the CLI in the default build, where the TornadoVM backend is absent. */
class CliBackendTest {
    static String tiny() {
        return CliTraceGenerateTest.fixtures().resolve("models/tiny-bf16").toString();
    }

    @Test
    void tornadoWithoutTheBackendIsOneLineSayingWhatToInstall() {
        var r = run("generate", "--model", tiny(), "--tokens", "1,2,3", "--max-new-tokens", "2", "--backend", "tornado");
        assertEquals(2, r.status());
        String msg = r.err().strip();
        assertFalse(msg.contains("\n"), msg);
        assertTrue(msg.contains("TORNADOVM_HOME") && msg.contains("-Ptornado"), msg);
    }

    @Test
    void autoRunsOnTheCpuWithoutWarning() {
        var r = run("generate", "--model", tiny(), "--tokens", "1,2,3", "--max-new-tokens", "2", "--backend", "auto");
        assertEquals(0, r.status(), r.err());
        assertFalse(r.err().contains("warning"), r.err());
    }

    @Test
    void monitorTakesTheBackendThroughTheSamePath() throws Exception {
        // monitor loads each checkpoint through Engines.load like trace: --backend tornado is refused the same way,
        // before anything is written
        java.nio.file.Path out = java.nio.file.Files.createTempDirectory("monitor-backend").resolve("report");
        var r = run("monitor", "--checkpoints", CliTraceGenerateTest.fixtures().resolve("grokking/checkpoints").toString(),
                "--data", CliTraceGenerateTest.fixtures().resolve("grokking/train.jsonl").toString(), "--out",
                out.toString(), "--backend", "tornado");
        assertEquals(2, r.status(), r.err());
        String msg = r.err().strip();
        assertTrue(msg.lines().anyMatch(l -> l.contains("TORNADOVM_HOME") && l.contains("-Ptornado")), msg);
        var unknown = run("monitor", "--backend", "cuda", "--out", out.toString());
        assertEquals(2, unknown.status());
        assertTrue(unknown.err().contains("--backend cuda"), unknown.err());
    }

    @Test
    void unknownBackendIsBadInput() {
        var r = run("generate", "--model", tiny(), "--tokens", "1,2,3", "--backend", "cuda");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--backend cuda"), r.err());
    }
}
