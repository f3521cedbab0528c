package org.moescope.cli;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** --spark without the spark module on the class path (the default CLI jar): one line naming what to add, exit 2. */
class SparkOptionTest {
    static Path fixtures() {
        Path p = Path.of("").toAbsolutePath();
        while (!Files.isDirectory(p.resolve("fixtures/models"))) p = p.getParent();
        return p.resolve("fixtures");
    }

    @Test
    void traceAndMonitorNameTheMissingSparkModule() {
        CliRun t = CliRun.run("trace", "--model", fixtures().resolve("models/tiny-f32").toString(), "--tokens", "1,2,3",
                "--out", "never.safetensors", "--spark", "local[2]");
        assertEquals(2, t.status(), t.err());
        assertEquals(1, t.err().strip().lines().count(), t.err());
        assertTrue(t.err().contains("moescope-spark.jar"), t.err());
        CliRun m = CliRun.run("monitor", "--spark", "local[2]", "--backend", "tornado");
        assertEquals(2, m.status(), m.err());
        assertTrue(m.err().contains("--spark runs the CPU backend"), m.err());
        assertFalse(Files.exists(Path.of("never.safetensors")));
    }
}
