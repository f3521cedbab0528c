package org.moescope.cli;

import org.moescope.errors.BadInputException;
import picocli.CommandLine.Option;

/** Options that several model-running commands share, as picocli mixins, so each is declared and checked once. */
final class ModelOptions {
    private ModelOptions() {
    }

    /** --model: the checkpoint that trace, generate and bench run. */
    static final class Model {
        @Option(names = "--model", required = true, paramLabel = "DIR|FILE.gguf",
                description = "HF checkpoint directory (config.json + safetensors) of a supported family, or a GGUF file (llama.cpp's format; docs/gguf.md).")
        java.nio.file.Path dir;
    }

    /** --tokenizer: trace (text samples) and generate (text prompts). */
    static final class TokenizerFile {
        @Option(names = "--tokenizer", paramLabel = "FILE",
                description = "tokenizer.json, or a GGUF file's tokenizer, for text (default: the model's own: the "
                        + "directory's tokenizer.json or the .gguf's).")
        java.nio.file.Path file;
    }

    /** --backend: trace, generate, bench, monitor. */
    static final class Backend {
        @Option(names = "--backend", paramLabel = "<backend>", defaultValue = "auto", description = "cpu | tornado | auto: auto runs on TornadoVM when it has a device, else on the CPU (default: ${DEFAULT-VALUE}).")
        String name;
    }

    /** --batch-tokens: trace, bench, monitor. */
    static final class BatchTokens {
        @Option(names = "--batch-tokens", paramLabel = "<tokens>", description = "Prefill tokens per forward call (default: about 128 tokens per expert, at least 512: 512 for 32 experts top-8, 1024 for OLMoE-1B-7B).")
        Integer value;

        /** The value, null for the checkpoint's default; bad input below 1. */
        Integer checked() {
            if (value != null && value < 1) {
                throw new BadInputException("--batch-tokens must be at least 1");
            }
            return value;
        }
    }

    /** --spark: trace and monitor on a Spark cluster (the spark module, found at run time). */
    static final class Spark {
        @Option(names = "--spark", paramLabel = "MASTER", description = "Run the tracing as a Spark job on MASTER "
                + "(local[2], spark://host:7077, yarn, k8s://...; needs the spark module and Spark's jars on the "
                + "class path: docs/scale-out.md). Writes the same files as without it.")
        String master;

        /** The cluster provider, or bad input naming what to add to the class path. --backend must be cpu/auto. */
        org.moescope.trace.TraceCluster cluster(String backend) {
            if (!backend.equals("auto") && !backend.equals("cpu")) {
                throw new BadInputException("--spark runs the CPU backend on the executors; drop --backend " + backend);
            }
            return java.util.ServiceLoader.load(org.moescope.trace.TraceCluster.class).findFirst().orElseThrow(() ->
                    new BadInputException("--spark: the spark module is not on the class path: add moescope-spark.jar "
                            + "and Spark's jars (the moescope script does when SPARK_HOME is set or spark/ is built; "
                            + "see docs/scale-out.md)"));
        }
    }
}
