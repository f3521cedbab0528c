package org.moescope.trace;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.kernels.VectorKernels;
import org.moescope.model.Fixtures;
import org.moescope.model.MoeTransformer;
import org.moescope.routing.RouteFile;
import org.moescope.routing.RouteFileWriter;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class TracerResumeTest {
    @TempDir
    Path dir;

    /** 16 tokens per call: the samples below take several calls. */
    private static final Tracer.Options OPTS = new Tracer.Options(false, false, false, 16);

    private static List<Sample> samples(long seed, int n, int vocab) {
        SplittableRandom r = new SplittableRandom(seed);
        List<Sample> s = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            s.add(new Sample("s" + i, null, r.ints(r.nextInt(3, 12), 0, vocab).toArray(), 1));
        }
        return s;
    }

    /** Traces until `stopAfter` tokens are done, then fails the way an interrupted run would. */
    private static void interrupted(MoeTransformer m, List<Sample> samples, Path out, long stopAfter) {
        RuntimeException stop = new RuntimeException("interrupted");
        RuntimeException thrown = assertThrows(RuntimeException.class, () -> Tracer.traceResumable(m, samples, out,
                Map.of(), OPTS, done -> {
                    if (done >= stopAfter) throw stop;
                }, null));
        assertSame(stop, thrown);
        assertFalse(Files.exists(out), "an unfinished trace is not under its name");
        assertTrue(Files.exists(RouteFileWriter.partialPath(out)));
        assertTrue(Files.exists(TraceLog.pathFor(out)));
    }

    private static void assertSameTrace(Path expected, Tracer.Result er, Path actual, Tracer.Result ar) throws Exception {
        try (RouteFile a = RouteFile.open(expected); RouteFile b = RouteFile.open(actual)) {
            assertEquals(a.sampleIds(), b.sampleIds());
            assertArrayEquals(a.sampleOffsets(), b.sampleOffsets());
            for (int s = 0; s < a.numSamples(); s++) {
                assertArrayEquals(a.inputIds(s), b.inputIds(s));
                assertArrayEquals(a.topkIds(s), b.topkIds(s), "routes of sample " + s);
                // 1e-5: Vector API lane sums may round differently before and after C2 compiles a kernel.
                assertArrayEquals(a.topkWeights(s), b.topkWeights(s), 1e-5f);
            }
            assertArrayEquals(a.routerProbsMean(), b.routerProbsMean(), 1e-5f);
            assertArrayEquals(a.loss(), b.loss(), 1e-5f);
        }
        assertArrayEquals(er.loss(), ar.loss(), 1e-5f);
        assertArrayEquals(er.correct(), ar.correct());
    }

    @Test
    void anInterruptedTraceGoesOnWhereItStoppedAndEndsAsAnUninterruptedOne() throws Exception {
        try (MoeTransformer m = MoeTransformer.load(Fixtures.model("tiny-f32"), new VectorKernels())) {
            List<Sample> samples = samples(1, 12, m.config().vocabSize());
            long total = samples.stream().mapToLong(s -> s.ids().length).sum();
            Path whole = dir.resolve("whole.safetensors");
            Tracer.Result wr = Tracer.trace(m, samples, whole, Map.of(), OPTS, null);

            Path out = dir.resolve("routes.safetensors");
            interrupted(m, samples, out, total / 2);
            List<String> notes = new ArrayList<>();
            List<Long> progress = new ArrayList<>();
            Tracer.Result rr = Tracer.traceResumable(m, samples, out, Map.of(), OPTS, progress::add, notes::add);
            assertEquals(1, notes.size(), notes.toString());
            assertTrue(notes.getFirst().startsWith("resuming "), notes.getFirst());
            long resumedAt = progress.getFirst();
            assertTrue(resumedAt >= total / 2 && resumedAt < total, "first progress report: the earlier run's tokens");
            assertEquals(total - resumedAt, rr.tokens(), "tokens run by the second call only");
            assertFalse(Files.exists(RouteFileWriter.partialPath(out)));
            assertFalse(Files.exists(TraceLog.pathFor(out)));
            assertSameTrace(whole, wr, out, rr);
        }
    }

    /**
     * A run killed after it had made its partial route file but before its log (MonitorResumeTest's kill once landed
     * there: the next run stopped with "cannot write" on the missing log) is resumed from nothing logged.
     */
    @Test
    void aPartialFileWithoutItsLogIsResumedFromTheStart() throws Exception {
        try (MoeTransformer m = MoeTransformer.load(Fixtures.model("tiny-f32"), new VectorKernels())) {
            List<Sample> samples = samples(4, 12, m.config().vocabSize());
            Path whole = dir.resolve("whole.safetensors");
            Tracer.Result wr = Tracer.trace(m, samples, whole, Map.of(), OPTS, null);
            Path out = dir.resolve("routes.safetensors");
            interrupted(m, samples, out, 30);
            Files.delete(TraceLog.pathFor(out));
            long total = samples.stream().mapToLong(s -> s.ids().length).sum();
            Tracer.Result rr = Tracer.traceResumable(m, samples, out, Map.of(), OPTS, null, null);
            assertEquals(total, rr.tokens(), "nothing logged, so every token is traced again");
            assertFalse(Files.exists(TraceLog.pathFor(out)));
            assertSameTrace(whole, wr, out, rr);
        }
    }

    @Test
    void aPartialRunOfOtherSamplesIsDiscarded() throws Exception {
        try (MoeTransformer m = MoeTransformer.load(Fixtures.model("tiny-f32"), new VectorKernels())) {
            int vocab = m.config().vocabSize();
            Path out = dir.resolve("routes.safetensors");
            interrupted(m, samples(1, 12, vocab), out, 20);
            List<Sample> other = samples(2, 9, vocab);
            List<String> notes = new ArrayList<>();
            Tracer.Result rr = Tracer.traceResumable(m, other, out, Map.of(), OPTS, null, notes::add);
            assertEquals(1, notes.size(), notes.toString());
            assertTrue(notes.getFirst().contains("over"), notes.getFirst());
            Path fresh = dir.resolve("fresh.safetensors");
            assertSameTrace(fresh, Tracer.trace(m, other, fresh, Map.of(), OPTS, null), out, rr);
        }
    }

    @Test
    void aLogLineCutShortByACrashIsIgnored() throws Exception {
        try (MoeTransformer m = MoeTransformer.load(Fixtures.model("tiny-f32"), new VectorKernels())) {
            List<Sample> samples = samples(3, 12, m.config().vocabSize());
            Path whole = dir.resolve("whole.safetensors");
            Tracer.Result wr = Tracer.trace(m, samples, whole, Map.of(), OPTS, null);
            Path out = dir.resolve("routes.safetensors");
            interrupted(m, samples, out, 40);
            Path log = TraceLog.pathFor(out);
            int intactLines = Files.readAllLines(log).size();
            Files.writeString(log, "{\"first\": 99, \"last\": 1", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
            float[] loss = new float[samples.size()];
            TraceLog.Done done = TraceLog.read(log, loss, new boolean[samples.size()]);
            assertTrue(done.done() > 0);
            assertEquals(Files.readAllLines(log).subList(0, intactLines).stream()
                    .mapToLong(l -> l.getBytes(StandardCharsets.UTF_8).length + 1).sum(), done.validBytes());
            // The next run cuts the torn line off before appending: what it adds must read back.
            assertThrows(RuntimeException.class, () -> Tracer.traceResumable(m, samples, out, Map.of(), OPTS, d -> {
                if (d >= 70) throw new RuntimeException("interrupted again");
            }, null));
            TraceLog.Done later = TraceLog.read(log, loss, new boolean[samples.size()]);
            assertTrue(later.done() > done.done(), later + " after " + done);
            assertEquals(Files.size(log), later.validBytes());
            Tracer.Result rr = Tracer.traceResumable(m, samples, out, Map.of(), OPTS, null, null);
            assertSameTrace(whole, wr, out, rr);
        }
    }
}
