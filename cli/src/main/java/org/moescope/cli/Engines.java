package org.moescope.cli;

import org.moescope.backend.Backends;
import org.moescope.errors.BadInputException;
import org.moescope.model.MoeModel;
import org.moescope.tokenizer.Tokenizer;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;

/** What the model-running commands share: loading a checkpoint on a backend, token lists, the tokenizer. */
final class Engines {
    private Engines() {
    }

    /**
     * Backends are found with ServiceLoader: the TornadoVM one is on the class path only in -Ptornado builds. Unknown
     * names are refused by Backends.load.
     */
    static MoeModel load(Path dir, String backend, PrintWriter err) {
        return Backends.discover().load(backend, dir, line -> {
            err.println(line);
            err.flush();
        });
    }

    /** The vocabulary size of a checkpoint's config, without loading its weights (samples are checked against it). */
    static int vocabSize(Path dir) {
        try (org.moescope.checkpoint.Checkpoint c = org.moescope.checkpoint.Checkpoint.open(dir)) {
            return org.moescope.model.family.Families.parse(c.config(), dir.resolve(org.moescope.checkpoint.Checkpoint.CONFIG))
                    .vocabSize();
        }
    }

    /** Parses "1,2,3" into ids, each checked against the vocabulary. */
    static int[] parseTokenList(String list, int vocabSize) {
        String[] parts = list.split(",", -1);
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i].strip();
            try {
                ids[i] = Integer.parseInt(p);
            } catch (NumberFormatException e) {
                throw new BadInputException("--tokens: \"" + p + "\" is not a token id");
            }
            if (ids[i] < 0 || ids[i] >= vocabSize) {
                throw new BadInputException("--tokens: token id " + ids[i] + " is out of range [0, " + vocabSize + ")");
            }
        }
        return ids;
    }

    /** The tokenizer given, else the model's own (a directory's tokenizer.json, a GGUF file's vocabulary), else null. */
    static Tokenizer tokenizer(Path modelDir, Path tokenizerFile) {
        if (tokenizerFile != null) {
            return Tokenizer.load(tokenizerFile);
        }
        if (modelDir != null) org.moescope.checkpoint.Checkpoint.checkModelPath(modelDir);
        if (modelDir != null && Tokenizer.inModel(modelDir)) {
            return Tokenizer.forModelDirectory(modelDir);
        }
        return null;
    }

    /** "DIR has no tokenizer.json" or "FILE.gguf has no tokenizer (...)": the end of a missing-tokenizer message. */
    static String noTokenizer(Path model) {
        return model + " has no tokenizer" + (org.moescope.checkpoint.Checkpoint.isGguf(model)
                ? " (no tokenizer.ggml.model)" : ".json") + "; give --tokenizer";
    }

    static Function<String, int[]> textEncoder(Path modelDir, Path tokenizerFile) {
        Tokenizer t = tokenizer(modelDir, tokenizerFile);
        // As HF's tokenizer(text) by default: the post-processor's template tokens too (Llama's BOS), which a model
        // trained with them expects at the start of a sequence; OLMoE-style tokenizers add none.
        return t == null ? null : text -> t.encodeIds(text, true);
    }
}
