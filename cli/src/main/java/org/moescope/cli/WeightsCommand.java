package org.moescope.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.moescope.chat.ChatConfig;
import org.moescope.checkpoint.Checkpoint;
import org.moescope.errors.BadInputException;
import org.moescope.model.Architectures;
import org.moescope.safetensors.DType;
import org.moescope.weights.ArchitectureSummary;
import org.moescope.weights.ByteSizes;
import org.moescope.weights.Convert;

import org.moescope.weights.GgufConvert;
import org.moescope.weights.DTypeConversion;
import org.moescope.weights.Diff;
import org.moescope.weights.DiffReport;
import org.moescope.weights.Init;
import org.moescope.weights.Inspect;
import org.moescope.weights.Manifest;
import org.moescope.weights.ParameterDynamics;
import org.moescope.weights.Verify;
import org.moescope.weights.WeightSource;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code moescope weights}: inspect, verify, convert, create and compare checkpoints (docs/weights-tools.md). */
@Command(name = "weights", mixinStandardHelpOptions = true,
        description = "Inspect, verify, convert, create (random init) and compare safetensors checkpoints.",
        subcommands = {WeightsCommand.InspectCmd.class, WeightsCommand.VerifyCmd.class, WeightsCommand.ConvertCmd.class,
                WeightsCommand.InitCmd.class, WeightsCommand.DiffCmd.class})
public final class WeightsCommand implements Runnable {
    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    @Command(name = "inspect", mixinStandardHelpOptions = true,
            description = "Architecture, parameter counts (total and active per token), files and tensor table.")
    static final class InspectCmd implements Callable<Integer> {
        @Spec
        CommandLine.Model.CommandSpec spec;

        @Parameters(paramLabel = "DIR|FILE", description = "Checkpoint directory or .safetensors file.")
        Path path;

        @Option(names = "--json", description = "Print JSON instead of text.")
        boolean json;

        @Override
        public Integer call() {
            try (WeightSource src = WeightSource.open(path)) {
                ArchitectureSummary arch = src.config() == null ? null
                        : Architectures.describe(src.config(), src.configPath());
                Inspect.Report report = Inspect.run(src, arch);
                spec.commandLine().getOut().print(json ? Inspect.toJson(report) : Inspect.toText(report));
                spec.commandLine().getOut().flush();
            }
            return 0;
        }
    }

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = {"Check a checkpoint: every header and the index, shapes against config.json, every value "
                    + "finite, and a SHA-256 manifest (DIR/" + Manifest.DEFAULT_NAME + " when present, or --manifest).",
                    "Exit status 0 when it passes, 2 when it does not."})
    static final class VerifyCmd implements Callable<Integer> {
        @Spec
        CommandLine.Model.CommandSpec spec;

        @Parameters(paramLabel = "DIR", description = "Checkpoint directory.")
        Path dir;

        @Option(names = "--manifest", paramLabel = "FILE", description = "sha256sum-style manifest to check.")
        Path manifest;

        @Option(names = "--write-manifest", description = "After a pass, write DIR/" + Manifest.DEFAULT_NAME
                + " (an existing one is replaced, not checked).")
        boolean writeManifest;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            long start = System.nanoTime();
            Path manifestFile = manifest;
            if (manifestFile == null && Files.isRegularFile(dir.resolve(Manifest.DEFAULT_NAME)) && !writeManifest) {
                manifestFile = dir.resolve(Manifest.DEFAULT_NAME);
            }
            Verify.Report report;
            try (WeightSource src = WeightSource.openDirectory(dir)) {
                Architectures.Expected expected = Architectures.isSupported(src.config())
                        ? Architectures.expectedTensors(src.config(), src.configPath()) : null;
                report = expected == null ? Verify.run(src, null, manifestFile)
                        : Verify.run(src, expected.shapes(), expected.unused(), manifestFile);
            }
            report.findings().forEach(out::println);
            out.printf(Locale.ROOT, "%s: %d tensors, %,d parameters, %d file(s); shapes %s; values scanned; manifest %s "
                            + "(%.1f s)%n", dir, report.tensors(), report.parameters(), report.files(),
                    report.shapesChecked() ? "checked against config.json" : "not checked (unknown model_type)",
                    report.manifestFiles() < 0 ? "none" : report.manifestFiles() + " files checked", seconds(start));
            if (!report.ok()) {
                out.flush();
                Verify.Finding first = report.findings().stream()
                        .filter(f -> f.severity() == Verify.Severity.ERROR).findFirst().orElseThrow();
                throw new BadInputException(dir + ": verification failed with " + report.errors() + " error(s); first: "
                        + first);
            }
            if (writeManifest) {
                out.println("wrote " + Manifest.write(dir));
            }
            out.println("OK");
            out.flush();
            return 0;
        }
    }

    @Command(name = "convert", mixinStandardHelpOptions = true,
            description = "Rewrite a checkpoint in another dtype (round-to-nearest-even, bit-identical to torch), "
                    + "resharded, written atomically.")
    static final class ConvertCmd implements Callable<Integer> {
        @Spec
        CommandLine.Model.CommandSpec spec;

        @Parameters(paramLabel = "DIR|FILE.gguf", description = "Checkpoint directory, or a GGUF file, to read.")
        Path dir;

        @Option(names = "--dtype", required = true, description = "bf16, f16, f32, or q8_0: the projections and lm_head as int8 with a float32 scale per 32 values (docs/weights-tools.md), the rest unchanged. With --to gguf: f32, f16, bf16, q8_0, q4_0, q4_k, q4_k_m, q5_k, q6_k (docs/gguf.md). From a GGUF file: bf16, f16 or f32.")
        String dtype;

        @Option(names = "--to", defaultValue = "safetensors", paramLabel = "<format>",
                description = "safetensors (an HF checkpoint directory) or gguf (one llama.cpp GGUF file) (default: ${DEFAULT-VALUE}).")
        String format;

        @Option(names = "--out", required = true, paramLabel = "DIR|FILE", description = "Directory (or with --to gguf, file) to create.")
        Path out;

        @Option(names = "--max-shard-size", defaultValue = "5GB",
                description = "Largest shard, HF style: 5GB = 5*10^9 bytes, 2GiB = 2^31 (default: ${DEFAULT-VALUE}).")
        String maxShardSize;

        @Option(names = "--force", description = "Replace --out if it exists and is not empty.")
        boolean force;

        @Override
        public Integer call() {
            long start = System.nanoTime();
            if (format.equals("gguf")) {
                // The chat template and named special tokens as transformers reads them (chat_template.jinja wins).
                GgufConvert.Chat chat = null;
                if (Files.isDirectory(dir) && ChatConfig.inModel(dir)) {
                    ChatConfig c = ChatConfig.load(dir);
                    chat = new GgufConvert.Chat(c.templates(), c.specialTokens());
                }
                GgufConvert.Result g = GgufConvert.toGguf(dir, out, dtype, force, chat);
                double s = seconds(start);
                spec.commandLine().getOut().printf(Locale.ROOT, "wrote %s: %d tensors (%s), %s in %.1f s; tokenizer: %s;"
                                + " chat template: %s%n", g.out(), g.tensors(), g.type(), ByteSizes.format(g.bytes()), s,
                        g.tokenizer(), g.chat());
                spec.commandLine().getOut().flush();
                return 0;
            }
            if (!format.equals("safetensors")) {
                throw new BadInputException("--to " + format + ": expected safetensors or gguf");
            }
            boolean gguf = Checkpoint.isGguf(dir);
            boolean q8 = !gguf && dtype.equalsIgnoreCase("q8_0");
            DType to = q8 ? DType.I8 : DTypeConversion.parseTarget(dtype);
            long maxShard = ByteSizes.parse(maxShardSize, "--max-shard-size");
            Convert.Result r = gguf ? GgufConvert.fromGguf(dir, out, to, maxShard, force)
                    : q8 ? Convert.runQ8(dir, out, maxShard, force) : Convert.run(dir, out, to, maxShard, force);
            double s = seconds(start);
            spec.commandLine().getOut().printf(Locale.ROOT,
                    "wrote %s: %d tensors (%d converted to %s), %d shard(s), %s written from %s read in %.1f s (%.0f MB/s read)%n",
                    r.out(), r.tensors(), r.converted(), q8 ? "q8_0" : to.torchName(), r.shards().size(),
                    ByteSizes.format(r.bytesWritten()), ByteSizes.format(r.bytesRead()), s, r.bytesRead() / 1e6 / s);
            if (gguf) {
                spec.commandLine().getOut().println("from the GGUF metadata: "
                        + (r.copiedFiles().isEmpty() ? "config.json only (no tokenizer or chat keys)"
                        : "config.json, " + String.join("; ", r.copiedFiles())));
            }
            spec.commandLine().getOut().flush();
            return 0;
        }
    }

    @Command(name = "init", mixinStandardHelpOptions = true,
            description = "Write a randomly initialised checkpoint for a config.json (HF's init: normal(0, "
                    + "initializer_range) for linear layers and embeddings, ones for norms), streaming and seeded.")
    static final class InitCmd implements Callable<Integer> {
        @Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--config", required = true, paramLabel = "FILE", description = "A supported family's config.json.")
        Path config;

        @Option(names = "--out", required = true, paramLabel = "DIR|FILE", description = "Directory (or with --to gguf, file) to create.")
        Path out;

        @Option(names = "--seed", required = true, description = "Seed: the same seed gives the same weights.")
        long seed;

        @Option(names = "--dtype", defaultValue = "bf16", description = "bf16, f16 or f32 (default: ${DEFAULT-VALUE}). With --to gguf: f32, f16, bf16, q8_0, q4_0, q4_k, q4_k_m, q5_k, q6_k (the F32 init's values, quantised as weights convert --to gguf does).")
        String dtype;

        @Option(names = "--to", defaultValue = "safetensors", paramLabel = "<format>",
                description = "safetensors (an HF checkpoint directory) or gguf (one llama.cpp GGUF file, written without a float checkpoint in between) (default: ${DEFAULT-VALUE}).")
        String format;

        @Option(names = "--max-shard-size", defaultValue = "5GB", description = "Largest shard (default: ${DEFAULT-VALUE}).")
        String maxShardSize;

        @Option(names = "--threads", description = "Generator threads (default: all cores).")
        Integer threads;

        @Option(names = "--force", description = "Replace --out if it exists and is not empty.")
        boolean force;

        @Override
        public Integer call() {
            int n = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
            if (n < 1) {
                throw new BadInputException("--threads must be at least 1");
            }
            if (!format.equals("safetensors") && !format.equals("gguf")) {
                throw new BadInputException("--to " + format + ": expected safetensors or gguf");
            }
            JsonNode json = Architectures.readConfig(config);
            List<Init.TensorPlan> plan = Architectures.initPlan(json, config);
            long start = System.nanoTime();
            if (format.equals("gguf")) {
                GgufConvert.Result g = GgufConvert.init(plan, json, config.toString(), seed, dtype, out, force, n);
                double s = seconds(start);
                long params = plan.stream().mapToLong(Init.TensorPlan::elements).sum();
                spec.commandLine().getOut().printf(Locale.ROOT, "wrote %s: %d tensors (%s), %,d parameters, %s in %.1f s (%.0f M params/s)%n",
                        g.out(), g.tensors(), g.type(), params, ByteSizes.format(g.bytes()), s, params / 1e6 / s);
                spec.commandLine().getOut().flush();
                return 0;
            }
            DType to = DTypeConversion.parseTarget(dtype);
            long maxShard = ByteSizes.parse(maxShardSize, "--max-shard-size");
            Init.Result r = Init.run(plan, json, to, seed, maxShard, out, force, n);
            double s = seconds(start);
            spec.commandLine().getOut().printf(Locale.ROOT,
                    "wrote %s: %d tensors, %,d parameters, %s in %d shard(s) in %.1f s (%.0f MB/s, %.0f M params/s)%n",
                    r.out(), r.tensors(), r.parameters(), ByteSizes.format(r.bytes()), r.shards().size(), s,
                    r.bytes() / 1e6 / s, r.parameters() / 1e6 / s);
            spec.commandLine().getOut().flush();
            return 0;
        }
    }

    @Command(name = "diff", mixinStandardHelpOptions = true,
            description = {"Relative change ||B-A||/||A|| per tensor, per component (router, experts, attention, "
                    + "embeddings, norms) and layer.",
                    "With --series: consecutive checkpoints and the paper's parameter-dynamics table (App. D Table 3)."})
    static final class DiffCmd implements Callable<Integer> {
        @Spec
        CommandLine.Model.CommandSpec spec;

        @Parameters(paramLabel = "CHECKPOINT", arity = "1..*",
                description = "A and B; with --series: checkpoints in order, or one directory holding them.")
        List<Path> paths;

        @Option(names = "--series", description = "Treat the arguments as a training series.")
        boolean series;

        @Option(names = "--out", paramLabel = "DIR", description = "Write CSV files and a PNG chart here.")
        Path outDir;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            if (!series) {
                if (paths.size() != 2) {
                    throw new BadInputException("diff needs exactly two checkpoints A B (or --series), got " + paths.size());
                }
                Diff.Result r = Diff.compare(paths.get(0), paths.get(1));
                out.print(DiffReport.text(r));
                if (outDir != null) {
                    DiffReport.writePair(outDir, r).forEach(p -> out.println("wrote " + p));
                }
                out.flush();
                return 0;
            }
            List<Path> checkpoints = DiffReport.expandSeries(paths);
            List<Diff.Result> steps = new ArrayList<>();
            for (int i = 1; i < checkpoints.size(); i++) {
                Diff.Result r = Diff.compare(checkpoints.get(i - 1), checkpoints.get(i));
                steps.add(r);
                out.printf(Locale.ROOT, "step %d: %s -> %s (%d tensors)%n", i, r.labelA(), r.labelB(),
                        r.tensors().size());
            }
            List<ParameterDynamics.Row> rows = ParameterDynamics.table(steps);
            out.print(DiffReport.table3Text(rows, checkpoints.size()));
            if (outDir != null) {
                DiffReport.writeSeries(outDir, steps, rows).forEach(p -> out.println("wrote " + p));
            }
            out.flush();
            return 0;
        }
    }
}
