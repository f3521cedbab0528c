package org.moescope.cli;

import org.moescope.errors.BadInputException;
import org.moescope.model.Sampler;
import picocli.CommandLine.Option;

import java.util.SplittableRandom;

/** The sampling options of generate and chat, as a picocli mixin, so both read and check them the same way. */
final class SamplingOptions {
    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-k", defaultValue = "0", description = "Keep the k most likely tokens; 0 = all.")
    int topK;

    @Option(names = "--top-p", defaultValue = "1", description = "Nucleus sampling threshold; 1 = off.")
    float topP;

    @Option(names = "--min-p", defaultValue = "0", description = "Drop tokens below min-p x the best probability; 0 = off.")
    float minP;

    @Option(names = "--repeat-penalty", defaultValue = "1", description = "Penalty for tokens already present; 1 = off.")
    float repeatPenalty;

    @Option(names = "--seed", defaultValue = "0", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    /** Bad values are bad input; checked before the model is loaded. */
    void check() {
        if (temperature < 0) throw new BadInputException("--temperature must be >= 0");
        if (topP <= 0 || topP > 1) throw new BadInputException("--top-p must be in (0, 1]");
        if (minP < 0 || minP >= 1) throw new BadInputException("--min-p must be in [0, 1)");
        if (repeatPenalty <= 0) throw new BadInputException("--repeat-penalty must be > 0");
        if (topK < 0) throw new BadInputException("--top-k must be >= 0");
    }

    /** A sampler that never picks ids at or above validVocab (padding rows of the embedding). */
    Sampler sampler(int validVocab) {
        check();
        return new Sampler(temperature, topK, topP, minP, repeatPenalty, validVocab, new SplittableRandom(seed));
    }
}
