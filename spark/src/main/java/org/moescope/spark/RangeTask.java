package org.moescope.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.spark.TaskContext;
import org.moescope.output.AtomicFiles;
import org.moescope.routing.RouteFile;
import org.moescope.routing.RouteMerge;
import org.moescope.trace.Sample;
import org.moescope.trace.Tracer;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One Spark task: samples [first, last) of job {@code job}, a whole number of the batches a single trace of the job
 * runs, so that the part holds exactly that trace's rows.
 *
 * <p>What a task leaves in the job's parts directory: for a job with a route file, the route part
 * {@code range-FIRST-LAST.safetensors}; for every job, the result {@code range-FIRST-LAST.json} (the key, losses as
 * float bits, accuracies), written last. The result is the commit mark: a part counts as finished when its result
 * exists with the expected key. Both are written under hidden names carrying the task attempt id and renamed into
 * place, so a failed or killed attempt leaves only hidden temporary files, and two speculative attempts rename the
 * same bytes.
 *
 * @param key             fingerprint of everything the part depends on (RangePlan.key)
 * @param failFirstAttempt make the first attempt fail after its first batch (spark.moescope.failFirstAttempt)
 */
record RangeTask(int index, int job, int first, int last, String key, boolean failFirstAttempt) implements Serializable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What the driver gets back: the part's losses and accuracies, and the tokens this attempt traced. */
    record Result(int job, int first, float[] loss, boolean[] correct, long tokens, double seconds) implements Serializable {
    }

    String name() {
        return String.format(Locale.ROOT, "range-%09d-%09d", first, last);
    }

    Path routePart(JobSpec spec) {
        return spec.partsDir().resolve(RouteMerge.partName(first, last));
    }

    Path resultPart(JobSpec spec) {
        return spec.partsDir().resolve(name() + ".json");
    }

    /** Runs on an executor. */
    Result run(JobSpec spec) {
        TaskContext ctx = TaskContext.get();
        long attempt = ctx == null ? 0 : ctx.taskAttemptId();
        boolean inject = failFirstAttempt && ctx != null && ctx.attemptNumber() == 0;
        List<Sample> samples = spec.samples(first, last);
        try (ModelCache.Lease lease = ModelCache.lease(Path.of(spec.checkpoint()))) {
            Files.createDirectories(spec.partsDir());
            Path tmp = null;
            Map<String, String> meta = new LinkedHashMap<>(spec.metadata());
            meta.put(RouteMerge.PART_FIRST, Integer.toString(first));
            meta.put(RouteMerge.PART_LAST, Integer.toString(last));
            meta.put(RouteMerge.PART_TOTAL, Integer.toString(spec.size()));
            meta.put("part_key", key);
            if (spec.out() != null) {
                tmp = hidden(spec, name() + ".safetensors", attempt);
            }
            Tracer.Result r = Tracer.trace(lease.model, samples, tmp, meta, spec.options(), done -> {
                if (inject) {
                    throw new IllegalStateException("injected failure of " + name() + " attempt " + attempt
                            + " after its first batch (spark.moescope.failFirstAttempt)");
                }
            });
            if (tmp != null) {
                move(tmp, routePart(spec));
            }
            ObjectNode j = JSON.createObjectNode();
            j.put("part_key", key);
            var loss = j.putArray("loss_bits");
            for (float l : r.loss()) loss.add(Float.floatToRawIntBits(l));
            var correct = j.putArray("correct");
            for (boolean c : r.correct()) correct.add(c);
            Path resultTmp = hidden(spec, name() + ".json", attempt);
            Files.writeString(resultTmp, j.toString());
            move(resultTmp, resultPart(spec));
            return new Result(job, first, r.loss(), r.correct(), r.tokens(), r.seconds());
        } catch (IOException e) {
            throw new UncheckedIOException(spec.parts() + ": cannot write part " + name(), e);
        }
    }

    /** ".NAME.attempt-ID.tmp": hidden, named like every temporary file (AtomicFiles.isTemp), one per attempt. */
    private static Path hidden(JobSpec spec, String name, long attempt) {
        return spec.partsDir().resolve("." + name + ".attempt-" + attempt + ".tmp");
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** The part's result when an earlier run finished it with the same key (and its route part is there), else null. */
    Result finished(JobSpec spec) {
        Path result = resultPart(spec);
        if (!Files.isRegularFile(result)) return null;
        try {
            JsonNode j = JSON.readTree(Files.readAllBytes(result));
            if (!key.equals(j.path("part_key").asText()) || j.path("loss_bits").size() != last - first
                    || j.path("correct").size() != last - first) {
                return null;
            }
            if (spec.out() != null) {
                try (RouteFile f = RouteFile.open(routePart(spec))) {
                    if (!key.equals(f.metadata().get("part_key")) || f.numSamples() != last - first) return null;
                }
            }
            float[] loss = new float[last - first];
            boolean[] correct = new boolean[last - first];
            for (int i = 0; i < loss.length; i++) {
                loss[i] = Float.intBitsToFloat(j.path("loss_bits").get(i).asInt());
                correct[i] = j.path("correct").get(i).asBoolean();
            }
            return new Result(job, first, loss, correct, 0, 0);
        } catch (IOException | RuntimeException e) {
            return null; // unreadable leftovers: run the part again
        }
    }

    /** Deletes what attempts of this job's tasks left unfinished (hidden temporaries). */
    static void removeTemporaries(Path parts) {
        if (!Files.isDirectory(parts)) return;
        try (var files = Files.list(parts)) {
            for (Path f : files.filter(AtomicFiles::isTemp).toList()) Files.deleteIfExists(f);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
