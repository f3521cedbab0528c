package org.moescope.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.ExceptionFailure;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.moescope.checkpoint.Checkpoint;
import org.moescope.model.ModelConfig;
import org.moescope.model.family.Families;
import org.moescope.routing.RouteMerge;
import org.moescope.trace.Sample;
import org.moescope.trace.TraceCluster;
import org.moescope.trace.Tracer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * {@link TraceCluster} on Apache Spark (the driver's side). Each job's samples are cut at the batch boundaries a
 * single trace of them would use into ranges of about {@code spark.moescope.rangeTokens} tokens (default: 8 batches);
 * every (job, range) not finished by an earlier run becomes one task ({@link RangeTask}), in job order, so an
 * executor mostly works on one checkpoint at a time. When all tasks are done the driver merges each job's route parts
 * in range order (RouteMerge) into the job's route file, assembles the losses, and deletes the parts.
 *
 * <p>Spark settings it reads: spark.moescope.rangeTokens, spark.moescope.failFirstAttempt (comma-separated task
 * numbers whose first attempt fails after one batch: for checking failure handling on a cluster).
 */
public final class SparkTraceCluster implements TraceCluster {
    /** What the executors need beyond what Spark adds itself: the Vector API module and native access (FFM). */
    static final String EXECUTOR_JAVA_OPTIONS = "--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED";
    static final int DEFAULT_RANGE_BATCHES = 8;

    @Override
    public List<Tracer.Result> run(String master, List<Job> jobs, Consumer<String> notes) {
        long t0 = System.nanoTime();
        SparkConf conf = configure(new SparkConf(), master);
        List<JobSpec> specs = jobs.stream().map(JobSpec::of).toList();
        long rangeTokens = conf.getLong("spark.moescope.rangeTokens", 0);
        Set<Integer> failFirst = new HashSet<>();
        for (String s : conf.get("spark.moescope.failFirstAttempt", "").split(",")) {
            if (!s.isBlank()) failFirst.add(Integer.parseInt(s.strip()));
        }
        List<RangeTask> tasks = new ArrayList<>();
        List<List<RangeTask.Result>> done = new ArrayList<>();
        int reused = 0;
        for (int j = 0; j < jobs.size(); j++) {
            Job job = jobs.get(j);
            JobSpec spec = specs.get(j);
            done.add(new ArrayList<>());
            RangeTask.removeTemporaries(spec.partsDir());
            ModelConfig config;
            String configSha;
            try (Checkpoint ck = Checkpoint.open(job.checkpoint())) {
                config = Families.parse(ck.config(), job.checkpoint().resolve(Checkpoint.CONFIG));
                configSha = ck.configSha256();
            }
            int perCall = job.options().tokensPerCall(config);
            long target = rangeTokens > 0 ? rangeTokens : (long) DEFAULT_RANGE_BATCHES * perCall;
            for (int[] range : ranges(job.samples(), perCall, target)) {
                RangeTask task = new RangeTask(tasks.size(), j, range[0], range[1],
                        key(job, configSha, range[0], range[1]), false);
                RangeTask.Result earlier = task.finished(spec);
                if (earlier != null) {
                    done.get(j).add(earlier);
                    reused++;
                } else {
                    tasks.add(new RangeTask(tasks.size(), j, range[0], range[1], task.key(), failFirst.contains(tasks.size())));
                }
            }
        }
        notes.accept(String.format(Locale.ROOT, "spark: %d job(s), %d range task(s) to run on %s%s", jobs.size(),
                tasks.size(), conf.get("spark.master"), reused > 0 ? ", " + reused + " finished range(s) reused" : ""));
        if (!tasks.isEmpty()) {
            long tokens = 0;
            double taskSeconds = 0;
            for (RangeTask.Result r : runTasks(conf, specs, tasks, notes)) {
                done.get(r.job()).add(r);
                tokens += r.tokens();
                taskSeconds += r.seconds();
            }
            // Tokens per task-second: per executor core when each task has a core (moescope.threads = task cpus).
            notes.accept(String.format(Locale.ROOT, "spark: traced %d tokens in %.1f s; %.1f tokens/s per running task",
                    tokens, (System.nanoTime() - t0) / 1e9, tokens / Math.max(1e-9, taskSeconds)));
        }
        List<Tracer.Result> results = new ArrayList<>();
        double seconds = (System.nanoTime() - t0) / 1e9;
        for (int j = 0; j < jobs.size(); j++) {
            Job job = jobs.get(j);
            List<RangeTask.Result> parts = done.get(j);
            parts.sort(Comparator.comparingInt(RangeTask.Result::first));
            float[] loss = new float[job.samples().size()];
            boolean[] correct = new boolean[loss.length];
            for (RangeTask.Result p : parts) {
                System.arraycopy(p.loss(), 0, loss, p.first(), p.loss().length);
                System.arraycopy(p.correct(), 0, correct, p.first(), p.correct().length);
            }
            if (job.out() != null) {
                RouteMerge.merge(parts.stream().map(p -> job.parts().resolve(
                        RouteMerge.partName(p.first(), p.first() + p.loss().length))).toList(), job.out());
            }
            deleteTree(job.parts());
            long tokens = parts.stream().mapToLong(RangeTask.Result::tokens).sum();
            results.add(new Tracer.Result(loss, correct, tokens, seconds));
        }
        return results;
    }

    /**
     * Ranges [first, last) of whole batches, each of at least target tokens (the last one may be less): the batch
     * starts are those of a single trace at perCall tokens per call.
     */
    static List<int[]> ranges(List<Sample> samples, int perCall, long target) {
        int[] starts = Tracer.batchStarts(samples, perCall);
        List<int[]> out = new ArrayList<>();
        int from = 0;
        long tokens = 0;
        for (int b = 0; b + 1 < starts.length; b++) {
            for (int i = starts[b]; i < starts[b + 1]; i++) tokens += samples.get(i).ids().length;
            if (tokens >= target || b + 2 == starts.length) {
                out.add(new int[] {from, starts[b + 1]});
                from = starts[b + 1];
                tokens = 0;
            }
        }
        return out;
    }

    /** SHA-256 over what a part depends on: checkpoint config, metadata, options, and the range's samples. */
    private static String key(Job job, String configSha, int first, int last) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            StringBuilder head = new StringBuilder(configSha).append('\n').append(job.checkpoint()).append('\n')
                    .append(job.options()).append('\n').append(new TreeMap<>(job.metadata())).append('\n')
                    .append(first).append('-').append(last).append(" of ").append(job.samples().size())
                    .append(job.out() == null ? " losses" : " routes").append('\n');
            md.update(head.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            for (int i = first; i < last; i++) {
                Sample s = job.samples().get(i);
                md.update((s.id() + "\u0000" + s.group() + "\u0000" + s.lossStart() + "\u0000")
                        .getBytes(java.nio.charset.StandardCharsets.UTF_8));
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(s.ids().length * 4);
                b.asIntBuffer().put(s.ids());
                md.update(b.array());
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The Spark settings of a run: the master given (unless spark-submit set one), and on the executors the JVM
     * options the engine needs, our jar (when this runs from one) and the kernel threads of a task = spark.task.cpus.
     */
    static SparkConf configure(SparkConf conf, String master) {
        if (!conf.contains("spark.master")) conf.setMaster(master);
        conf.setIfMissing("spark.app.name", "moescope");
        String opts = conf.get("spark.executor.extraJavaOptions", "");
        if (!opts.contains("jdk.incubator.vector")) opts = (opts + " " + EXECUTOR_JAVA_OPTIONS).strip();
        if (!opts.contains("moescope.threads")) {
            // A task's kernels use the cores Spark gave it, so that an executor's concurrent tasks share its cores.
            opts += " -Dmoescope.threads=" + conf.get("spark.task.cpus", "1");
        }
        conf.set("spark.executor.extraJavaOptions", opts);
        Path self = ownJar();
        if (self != null && !conf.contains("spark.jars")) conf.set("spark.jars", self.toString());
        return conf;
    }

    /** The jar this class was loaded from, null when it runs from a classes directory (tests, local mode). */
    private static Path ownJar() {
        try {
            Path p = Path.of(SparkTraceCluster.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return Files.isRegularFile(p) && p.toString().endsWith(".jar") ? p : null;
        } catch (Exception e) {
            return null;
        }
    }

    private static List<RangeTask.Result> runTasks(SparkConf conf, List<JobSpec> specs, List<RangeTask> tasks,
                                                   Consumer<String> notes) {
        SparkContext sc = new SparkContext(conf);
        try {
            sc.setLogLevel("WARN");
            AtomicInteger finished = new AtomicInteger();
            sc.addSparkListener(new SparkListener() {
                @Override
                public void onTaskEnd(SparkListenerTaskEnd end) {
                    if (end.taskInfo().successful()) {
                        notes.accept("spark: " + finished.incrementAndGet() + "/" + tasks.size() + " ranges traced");
                    } else {
                        notes.accept("spark: a task attempt failed: " + (end.reason() instanceof ExceptionFailure f
                                ? firstLine(f.description()) : end.reason().getClass().getSimpleName()));
                    }
                }
            });
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(sc);
            Broadcast<List<JobSpec>> shared = jsc.broadcast(new ArrayList<>(specs));
            return jsc.parallelize(tasks, tasks.size()).map(new Run(shared)).collect();
        } catch (Exception e) { // SparkException is checked, but Scala does not declare it
            throw new IllegalStateException("the Spark job failed: " + firstLine(e.getMessage())
                    + "; finished ranges are kept, a rerun skips them", e);
        } finally {
            sc.stop();
        }
    }

    private static String firstLine(String message) {
        String m = String.valueOf(message);
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    /** The executors' function: run one range against the broadcast job specs. */
    private record Run(Broadcast<List<JobSpec>> specs) implements Function<RangeTask, RangeTask.Result> {
        @Override
        public RangeTask.Result call(RangeTask task) {
            return task.run(specs.value().get(task.job()));
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
