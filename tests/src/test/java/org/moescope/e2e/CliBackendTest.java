package org.moescope.e2e;

import org.junit.jupiter.api.Test;
import org.moescope.cli.Main;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --backend through the CLI in the default build, where the TornadoVM backend is absent. */
class CliBackendTest {
    record Run(int status, String out, String err) {
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(status, out.toString(), err.toString());
    }

    static String tiny() {
        Path p = Path.of("").toAbsolutePath();
        while (!Files.isDirectory(p.resolve("fixtures/models"))) p = p.getParent();
        return p.resolve("fixtures/models/tiny-bf16").toString();
    }

    @Test
    void tornadoWithoutTheBackendIsOneLineSayingWhatToInstall() {
        Run r = run("generate", "--model", tiny(), "--tokens", "1,2,3", "--max-new-tokens", "2", "--backend", "tornado");
        assertEquals(2, r.status());
        String msg = r.err().strip();
        assertFalse(msg.contains("\n"), msg);
        assertTrue(msg.contains("TORNADOVM_HOME") && msg.contains("-Ptornado"), msg);
    }

    @Test
    void autoRunsOnTheCpuWithoutWarning() {
        Run r = run("generate", "--model", tiny(), "--tokens", "1,2,3", "--max-new-tokens", "2", "--backend", "auto");
        assertEquals(0, r.status(), r.err());
        assertFalse(r.err().contains("warning"), r.err());
    }

    @Test
    void unknownBackendIsBadInput() {
        Run r = run("generate", "--model", tiny(), "--tokens", "1,2,3", "--backend", "cuda");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--backend cuda"), r.err());
    }
}
