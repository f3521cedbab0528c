package org.moescope.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.moescope.checkpoint.Checkpoint;
import org.moescope.errors.BadInputException;
import org.moescope.model.MoeModel;
import org.moescope.output.AtomicFiles;
import org.moescope.routing.RouteFile;
import org.moescope.trace.Sample;
import org.moescope.trace.TraceCluster;
import org.moescope.trace.Tracer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongConsumer;

/**
 * The tracing half of the monitor: every checkpoint's route file for the training samples, plus its accuracies and
 * losses on the training, test and validation samples. Each checkpoint's results are two files written atomically
 * ({@code routes/NAME.safetensors}, then {@code routes/NAME.eval.json}); a rerun keeps a checkpoint whose files exist
 * and match the same checkpoint and data, so an interrupted run continues where it stopped and never recomputes a
 * finished checkpoint.
 */
public final class MonitorTracing {
    /**
     * Results for one checkpoint. Accuracy is the fraction of samples whose every scored token is the argmax.
     * Test and validation values are NaN without those splits.
     */
    public record CheckpointData(Checkpoints.Entry entry, Path routes, double trainAccuracy, double testAccuracy,
                                 double testLoss, double validationLoss, boolean resumed) {
    }

    /** The samples of a run and a fingerprint of them (for resuming). */
    public record Data(List<Sample> train, List<Sample> test, List<Sample> validation, String fingerprint) {
        long tokensPerCheckpoint() {
            return tokens(train) + tokens(test) + tokens(validation);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private MonitorTracing() {
    }

    static long tokens(List<Sample> samples) {
        return samples == null ? 0 : samples.stream().mapToLong(s -> s.ids().length).sum();
    }

    /**
     * @param loader      loads a checkpoint on the backend the user chose (Engines.load: --backend, with its fallback)
     * @param batchTokens tokens per forward call; null: {@link Tracer#batchTokensFor} of each checkpoint's config
     * @param saveHidden  also store each sample's mean MoE-input hidden state (route field hidden_mean), for the
     *                    effective dimension of the routing kernel
     */
    public static List<CheckpointData> run(Checkpoints checkpoints, Data data, Path outDir, Function<Path, MoeModel> loader,
                                           Integer batchTokens, boolean saveHidden, String version, LongConsumer progress) {
        Path routesDir = outDir.resolve("routes");
        removeUnfinished(routesDir);
        List<CheckpointData> out = new ArrayList<>();
        long done = 0;
        for (Checkpoints.Entry e : checkpoints.entries()) {
            Path routes = routesDir.resolve(e.name() + ".safetensors");
            Path eval = routesDir.resolve(e.name() + ".eval.json");
            CheckpointData resumed = tryResume(e, routes, eval, data, saveHidden);
            if (resumed != null) {
                out.add(resumed);
            } else {
                out.add(traceOne(e, routes, eval, data, loader, batchTokens, saveHidden, version, done, progress));
            }
            done += data.tokensPerCheckpoint();
            if (progress != null) progress.accept(done);
        }
        return out;
    }

    /**
     * Deletes the temporary files (AtomicFiles.isTemp) that a killed run left in routes/: they never became results,
     * and the checkpoint they belonged to is traced again.
     */
    private static void removeUnfinished(Path routesDir) {
        if (!Files.isDirectory(routesDir)) return;
        try (var files = Files.list(routesDir)) {
            for (Path f : files.filter(AtomicFiles::isTemp).toList()) {
                Files.deleteIfExists(f);
            }
        } catch (IOException e) {
            throw new BadInputException(routesDir + ": cannot remove an interrupted run's temporary files: "
                    + e.getMessage());
        }
    }

    private static CheckpointData traceOne(Checkpoints.Entry e, Path routes, Path eval, Data data,
                                           Function<Path, MoeModel> loader,
                                           Integer batchTokens, boolean saveHidden, String version, long doneBefore,
                                           LongConsumer progress) {
        try (MoeModel model = loader.apply(e.dir())) {
            LongConsumer sub = progress == null ? null : t -> progress.accept(doneBefore + t);
            // Resumable: a checkpoint of a real series can take hours to trace; a rerun goes on within it.
            Tracer.Result train = Tracer.traceResumable(model, data.train(), routes, routeMetadata(e, data, version),
                    trainOptions(batchTokens, saveHidden), sub, null);
            long offset = doneBefore + tokens(data.train());
            Tracer.Options evalOpts = evalOptions(batchTokens);
            Tracer.Result test = evaluate(model, data.test(), evalOpts, progress, offset);
            offset += tokens(data.test());
            Tracer.Result validation = evaluate(model, data.validation(), evalOpts, progress, offset);
            return finish(e, routes, eval, model.checkpoint().configSha256(), data, train, test, validation);
        }
    }

    /**
     * As {@link #run}, with the tracing of every unfinished checkpoint done as one job on a cluster (monitor --spark):
     * per checkpoint a trace of the training samples to its route file, and the test and validation samples for
     * their losses. The files written are those {@link #run} writes.
     */
    public static List<CheckpointData> runOnCluster(Checkpoints checkpoints, Data data, Path outDir, TraceCluster cluster,
                                                    String master, Integer batchTokens, boolean saveHidden,
                                                    String version, Consumer<String> notes) {
        Path routesDir = outDir.resolve("routes");
        removeUnfinished(routesDir);
        List<CheckpointData> out = new ArrayList<>();
        List<TraceCluster.Job> jobs = new ArrayList<>();
        List<Checkpoints.Entry> todo = new ArrayList<>();
        for (Checkpoints.Entry e : checkpoints.entries()) {
            Path routes = routesDir.resolve(e.name() + ".safetensors");
            CheckpointData resumed = tryResume(e, routes, routesDir.resolve(e.name() + ".eval.json"), data, saveHidden);
            out.add(resumed);
            if (resumed != null) continue;
            todo.add(e);
            jobs.add(new TraceCluster.Job(e.dir(), data.train(), routes, routesDir.resolve(e.name() + ".parts"),
                    routeMetadata(e, data, version), trainOptions(batchTokens, saveHidden)));
            for (String split : List.of("test", "validation")) {
                List<Sample> samples = split.equals("test") ? data.test() : data.validation();
                if (samples != null && !samples.isEmpty()) {
                    jobs.add(new TraceCluster.Job(e.dir(), samples, null,
                            routesDir.resolve(e.name() + "." + split + ".parts"),
                            Map.of("data_fingerprint", data.fingerprint()), evalOptions(batchTokens)));
                }
            }
        }
        List<Tracer.Result> results = jobs.isEmpty() ? List.of() : cluster.run(master, jobs, notes);
        int next = 0;
        for (Checkpoints.Entry e : todo) {
            Tracer.Result train = results.get(next++);
            Tracer.Result test = data.test() == null || data.test().isEmpty() ? null : results.get(next++);
            Tracer.Result validation = data.validation() == null || data.validation().isEmpty() ? null : results.get(next++);
            String configSha;
            try (Checkpoint ck = Checkpoint.open(e.dir())) {
                configSha = ck.configSha256();
            }
            out.set(checkpoints.entries().indexOf(e), finish(e, routesDir.resolve(e.name() + ".safetensors"),
                    routesDir.resolve(e.name() + ".eval.json"), configSha, data, train, test, validation));
        }
        return out;
    }

    private static Map<String, String> routeMetadata(Checkpoints.Entry e, Data data, String version) {
        return Map.of("moescope_version", version, "model_path", e.dir().toString(), "data_fingerprint",
                data.fingerprint(), "checkpoint", e.name(), "step", Long.toString(e.step()));
    }

    private static Tracer.Options trainOptions(Integer batchTokens, boolean saveHidden) {
        return new Tracer.Options(false, false, saveHidden, batchTokens);
    }

    private static Tracer.Options evalOptions(Integer batchTokens) {
        return new Tracer.Options(false, false, false, batchTokens);
    }

    /** Writes a traced checkpoint's eval.json (after its route file: together they mark it finished). */
    private static CheckpointData finish(Checkpoints.Entry e, Path routes, Path eval, String configSha, Data data,
                                         Tracer.Result train, Tracer.Result test, Tracer.Result validation) {
        double[] t = summary(test);
        double[] v = summary(validation);
        ObjectNode j = JSON.createObjectNode();
        j.put("checkpoint", e.name());
        j.put("config_sha256", configSha);
        j.put("data_fingerprint", data.fingerprint());
        j.put("train_accuracy", accuracy(train.correct()));
        j.put("test_accuracy", t[0]);
        j.put("test_loss", t[1]);
        j.put("validation_loss", v[1]);
        AtomicFiles.writeString(eval, j.toPrettyString() + "\n");
        return new CheckpointData(e, routes, accuracy(train.correct()), t[0], t[1], v[1], false);
    }

    /** The losses and accuracy of a split, null for an absent split. */
    private static Tracer.Result evaluate(MoeModel model, List<Sample> samples, Tracer.Options opts, LongConsumer progress,
                                          long offset) {
        if (samples == null || samples.isEmpty()) return null;
        return Tracer.trace(model, samples, null, Map.of(), opts, progress == null ? null : t -> progress.accept(offset + t));
    }

    /** {accuracy, mean loss} over a split, NaN for an absent split. */
    private static double[] summary(Tracer.Result r) {
        if (r == null) return new double[] {Double.NaN, Double.NaN};
        double sum = 0;
        int n = 0;
        for (float l : r.loss()) {
            if (!Float.isNaN(l)) {
                sum += l;
                n++;
            }
        }
        return new double[] {accuracy(r.correct()), n == 0 ? Double.NaN : sum / n};
    }

    static double accuracy(boolean[] correct) {
        int k = 0;
        for (boolean c : correct) if (c) k++;
        return correct.length == 0 ? Double.NaN : (double) k / correct.length;
    }

    /** A finished checkpoint: both files present, same checkpoint config, same data. Anything else is redone. */
    private static CheckpointData tryResume(Checkpoints.Entry e, Path routes, Path eval, Data data, boolean saveHidden) {
        if (!Files.exists(routes) || !Files.exists(eval)) return null;
        try {
            JsonNode j = JSON.readTree(Files.readAllBytes(eval));
            String configSha;
            try (Checkpoint ck = Checkpoint.open(e.dir())) {
                configSha = ck.configSha256();
            }
            if (!configSha.equals(j.path("config_sha256").asText()) || !data.fingerprint().equals(j.path("data_fingerprint").asText())) {
                return null;
            }
            try (RouteFile r = RouteFile.open(routes)) {
                if (r.numSamples() != data.train().size() || (saveHidden && !r.has(RouteFile.Field.HIDDEN_MEAN))
                        || !configSha.equals(r.metadata().get("config_sha256"))
                        || !data.fingerprint().equals(r.metadata().get("data_fingerprint"))) {
                    return null;
                }
            }
            return new CheckpointData(e, routes, j.path("train_accuracy").asDouble(Double.NaN),
                    number(j, "test_accuracy"), number(j, "test_loss"), number(j, "validation_loss"), true);
        } catch (IOException | BadInputException ex) {
            return null; // unreadable leftovers of an interrupted run: trace again
        }
    }

    private static double number(JsonNode j, String field) {
        JsonNode n = j.get(field);
        return n == null || !n.isNumber() ? Double.NaN : n.doubleValue();
    }
}
