package org.moescope.backend;

import org.junit.jupiter.api.Test;
import org.moescope.errors.BadInputException;
import org.moescope.model.Fixtures;
import org.moescope.model.MoeModel;
import org.moescope.model.MoeTransformer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BackendsTest {
    private static final Path TINY = Fixtures.model("tiny-f32");

    /** A GPU backend stand-in: unavailable, failing at start-up, or loading on the CPU and counting loads. */
    private static final class Fake implements Backend {
        final String reason;
        final boolean failsAtStart;
        int loads;

        Fake(String reason, boolean failsAtStart) {
            this.reason = reason;
            this.failsAtStart = failsAtStart;
        }

        @Override
        public String name() {
            return "tornado";
        }

        @Override
        public String unavailableReason() {
            return reason;
        }

        @Override
        public MoeModel load(Path dir) {
            loads++;
            if (failsAtStart) {
                throw new BackendStartupException("no OpenCL platform", null);
            }
            return new CpuBackend().load(dir);
        }
    }

    @Test
    void serviceLoaderFindsTheCpuBackend() {
        assertTrue(Backends.discover().names().contains("cpu"));
    }

    @Test
    void autoWithoutGpuBackendRunsOnCpuSilently() {
        List<String> warnings = new ArrayList<>();
        try (MoeModel m = new Backends(List.of(new CpuBackend())).load("auto", TINY, warnings::add)) {
            assertInstanceOf(MoeTransformer.class, m);
        }
        assertEquals(List.of(), warnings);
    }

    @Test
    void autoPrefersAnAvailableGpuBackend() {
        Fake gpu = new Fake(null, false);
        try (MoeModel m = new Backends(List.of(new CpuBackend(), gpu)).load("auto", TINY, w -> { })) {
            assertEquals(1, gpu.loads);
        }
    }

    @Test
    void autoSkipsAnUnavailableGpuBackendWithoutStartingIt() {
        Fake gpu = new Fake("no TORNADOVM_HOME", false);
        List<String> warnings = new ArrayList<>();
        try (MoeModel m = new Backends(List.of(gpu)).load("auto", TINY, warnings::add)) {
            assertInstanceOf(MoeTransformer.class, m);
        }
        assertEquals(0, gpu.loads);
        assertEquals(List.of(), warnings);
    }

    @Test
    void autoFallsBackToCpuWithOneWarningWhenTheGpuFailsToStart() {
        List<String> warnings = new ArrayList<>();
        try (MoeModel m = new Backends(List.of(new Fake(null, true))).load("auto", TINY, warnings::add)) {
            assertInstanceOf(MoeTransformer.class, m);
        }
        assertEquals(1, warnings.size());
        assertTrue(warnings.get(0).contains("no OpenCL platform"), warnings.get(0));
    }

    @Test
    void askingForAnAbsentTornadoSaysWhatToInstall() {
        var e = assertThrows(BadInputException.class,
                () -> new Backends(List.of(new CpuBackend())).load("tornado", TINY, w -> { }));
        assertTrue(e.getMessage().contains("TORNADOVM_HOME"), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"));
    }

    @Test
    void askingForAFailingTornadoIsBadInputNotAFallback() {
        var e = assertThrows(BadInputException.class,
                () -> new Backends(List.of(new Fake(null, true))).load("tornado", TINY, w -> { }));
        assertTrue(e.getMessage().contains("no OpenCL platform"), e.getMessage());
        e = assertThrows(BadInputException.class,
                () -> new Backends(List.of(new Fake("set TORNADOVM_HOME", false))).load("tornado", TINY, w -> { }));
        assertTrue(e.getMessage().contains("set TORNADOVM_HOME"), e.getMessage());
    }

    @Test
    void unknownBackendIsBadInput() {
        assertThrows(BadInputException.class, () -> Backends.discover().load("cuda", TINY, w -> { }));
    }
}
