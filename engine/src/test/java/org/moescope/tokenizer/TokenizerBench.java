package org.moescope.tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Encoding throughput on one thread (no JMH; run by tools/bench/tokenizer_bench.sh next to the HF measurement).
 * The text is cut into chunks of 40 lines, exactly as tools/bench/hf_tokenizer_bench.py cuts it, and the ids are
 * summarized by a hash both programs print, so the two runs are checked to produce the same ids.
 *
 * <p>Usage: TokenizerBench TOKENIZER_JSON TEXT_FILE [PASSES]
 */
public final class TokenizerBench {
    private TokenizerBench() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: TokenizerBench TOKENIZER_JSON TEXT_FILE [PASSES]");
            System.exit(2);
        }
        long t0 = System.nanoTime();
        Tokenizer tok = Tokenizer.load(Path.of(args[0]));
        double loadSeconds = (System.nanoTime() - t0) / 1e9;
        byte[] bytes = Files.readAllBytes(Path.of(args[1]));
        List<String> chunks = chunks(new String(bytes, StandardCharsets.UTF_8));
        int passes = args.length > 2 ? Integer.parseInt(args[2]) : 8;
        double mb = bytes.length / 1e6;
        System.out.printf("java: %.2f MB of text in %d chunks; tokenizer loaded in %.2f s%n", mb, chunks.size(),
                loadSeconds);

        double bestIds = Double.MAX_VALUE;
        long tokens = 0;
        long hash = 0;
        for (int pass = 0; pass < passes; pass++) {
            long start = System.nanoTime();
            tokens = 0;
            hash = 0;
            for (String chunk : chunks) {
                for (int id : tok.encodeIds(chunk)) {
                    hash = hash * 31 + id;
                    tokens++;
                }
            }
            double s = (System.nanoTime() - start) / 1e9;
            bestIds = Math.min(bestIds, s);
            System.out.printf("java encodeIds pass %d: %.3f s, %.2f MB/s%s%n", pass, s, mb / s,
                    pass == 0 ? " (cold: JIT and word cache warming up)" : "");
        }
        double bestFull = Double.MAX_VALUE;
        for (int pass = 0; pass < Math.max(2, passes / 2); pass++) {
            long start = System.nanoTime();
            for (String chunk : chunks) {
                tok.encode(chunk);
            }
            bestFull = Math.min(bestFull, (System.nanoTime() - start) / 1e9);
        }
        System.out.printf("java: %d tokens, ids hash %016x%n", tokens, hash);
        System.out.printf("java encodeIds best: %.2f MB/s (%.0f tokens/s)%n", mb / bestIds, tokens / bestIds);
        System.out.printf("java encode (ids+tokens+offsets) best: %.2f MB/s%n", mb / bestFull);
    }

    /** Consecutive runs of 40 lines, each line keeping its "\n". */
    static List<String> chunks(String text) {
        List<String> out = new ArrayList<>();
        int start = 0;
        int lines = 0;
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) == '\n' && ++lines == 40) {
                out.add(text.substring(start, i + 1));
                start = i + 1;
                lines = 0;
            }
        }
        if (start < text.length()) {
            out.add(text.substring(start));
        }
        return out;
    }
}
