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
    void unknownBackendIsBadInput() {
        var r = run("generate", "--model", tiny(), "--tokens", "1,2,3", "--backend", "cuda");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--backend cuda"), r.err());
    }
}
