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
                description = "tokenizer.json for text (default: the model directory's).")
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
}
