package org.moescope.safetensors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.errors.BadInputException;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Seeded mutation fuzzing of the safetensors reader: valid files are bit-flipped, truncated, extended, spliced and
 * have header numbers, strings and the length prefix replaced; every mutant must either open (and then every tensor
 * must be readable inside the file) or fail with {@link BadInputException}: never another exception, an OOM or a hang.
 * (Jazzer was tried first: its instrumentation cannot read JDK 25 class files.)
 *
 * <p>CI runs {@value #DEFAULT_CASES} cases. For a long local run:
 * {@code ./mvnw -q -o -pl weights-tools test -Dtest=SafetensorsMutationFuzzTest -Dfuzz.cases=2000000 -Dfuzz.seed=7};
 * a failing mutant is saved under target/fuzz-failures/ with its case number.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SafetensorsMutationFuzzTest {
    static final int DEFAULT_CASES = 3000;

    @TempDir
    Path dir;

    @Test
    void mutantsOpenOrFailWithBadInputOnly() throws IOException {
        int cases = Integer.getInteger("fuzz.cases", DEFAULT_CASES);
        long seed = Long.getLong("fuzz.seed", 20240611L);
        List<byte[]> seeds = seedFiles();
        SplittableRandom rng = new SplittableRandom(seed);
        Path p = dir.resolve("mutant.safetensors");
        int opened = 0;
        int rejected = 0;
        for (int c = 0; c < cases; c++) {
            byte[] base = seeds.get(rng.nextInt(seeds.size()));
            byte[] mutant = mutate(base, seeds.get(rng.nextInt(seeds.size())), rng);
            Files.write(p, mutant);
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                readEverything(f, mutant.length);
                opened++;
            } catch (BadInputException e) {
                assertTrue(!e.getMessage().contains("\n"), e.getMessage());
                rejected++;
            } catch (Throwable t) {
                Path saved = Path.of("target", "fuzz-failures", "seed" + seed + "-case" + c + ".safetensors");
                Files.createDirectories(saved.getParent());
                Files.write(saved, mutant);
                fail("case " + c + " (seed " + seed + ", saved to " + saved + "): " + t, t);
            }
        }
        assertEquals(cases, opened + rejected);
        // both outcomes must be common, or the mutations are too weak or too strong to test anything
        assertTrue(opened > cases / 50, "opened " + opened);
        assertTrue(rejected > cases / 2, "rejected " + rejected);
    }

    /** Touches every byte the header hands out, through the public API. */
    private static void readEverything(SafetensorsFile f, long fileSize) {
        long sum = 0;
        for (TensorInfo t : f.tensors()) {
            MemorySegment s = f.segment(t.name());
            assertTrue(s.byteSize() == t.byteSize() && t.end() <= fileSize, t.toString());
            for (long i = 0; i < s.byteSize(); i++) sum += s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i);
            if (t.dtype().isFloatingPoint() && t.numElements() < 1 << 16) {
                sum += f.readFloats(t.name()).length;
            }
        }
        f.metadata().forEach((k, v) -> assertTrue(k != null && v != null));
        assertTrue(sum != Long.MIN_VALUE);
    }

    private List<byte[]> seedFiles() throws IOException {
        List<byte[]> out = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(1);
        float[] f = new float[12];
        for (int i = 0; i < f.length; i++) f[i] = (float) r.nextGaussian();
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        out.add(write(meta, List.of(SafetensorsWriter.floats("a", new long[] {3, 4}, f))));
        out.add(write(null, List.of(
                SafetensorsWriter.floats("model.embed_tokens.weight", new long[] {2, 3}, Arrays.copyOf(f, 6)),
                SafetensorsWriter.ints("ids", new long[] {3}, new int[] {1, 2, 3}),
                SafetensorsWriter.longs("offsets", new long[] {2}, new long[] {0, 3}),
                SafetensorsWriter.doubles("d", new long[] {1}, new double[] {Math.E}),
                SafetensorsWriter.floats("empty", new long[] {0, 5}, new float[0]))));
        short[] bf = new short[8];
        for (int i = 0; i < bf.length; i++) bf[i] = Numbers.floatToBf16(f[i]);
        out.add(write(Map.of("k", "v", "format", "pt"), List.of(
                SafetensorsWriter.raw("w", DType.BF16, new long[] {2, 2, 2}, MemorySegment.ofArray(bf)),
                SafetensorsWriter.raw("h", DType.F16, new long[] {4}, MemorySegment.ofArray(Arrays.copyOf(bf, 4))),
                SafetensorsWriter.raw("u", DType.U8, new long[] {3}, MemorySegment.ofArray(new byte[] {1, 2, 3})))));
        out.add(write(null, List.of()));
        return out;
    }

    private byte[] write(Map<String, String> meta, List<SafetensorsWriter.Entry> entries) throws IOException {
        Path p = dir.resolve("seed.safetensors");
        SafetensorsWriter.write(p, meta, entries);
        return Files.readAllBytes(p);
    }

    private static final String[] NUMBERS = {"-1", "0", "1", "7", "9223372036854775807", "9223372036854775808",
            "18446744073709551616", "1e400", "1.5", "-0", "4294967296", "2147483648", "99999999999"};
    private static final String[] TOKENS = {"\"F32\"", "\"BF16\"", "\"I64\"", "\"F8_E4M3\"", "\"X\"", "null", "true",
            "[]", "{}", "[[]]", "\"\"", "\"__metadata__\"", "\"shape\"", "\"data_offsets\"", "\"dtype\""};

    static byte[] mutate(byte[] base, byte[] other, SplittableRandom rng) {
        byte[] b = base.clone();
        int kinds = 1 + rng.nextInt(3);
        for (int k = 0; k < kinds; k++) {
            switch (rng.nextInt(8)) {
                case 0 -> { // bit flips
                    int flips = 1 + rng.nextInt(4);
                    for (int i = 0; i < flips && b.length > 0; i++) b[rng.nextInt(b.length)] ^= (byte) (1 << rng.nextInt(8));
                }
                case 1 -> b = Arrays.copyOf(b, b.length == 0 ? 0 : rng.nextInt(b.length)); // truncate
                case 2 -> { // extend with junk
                    byte[] extra = new byte[1 + rng.nextInt(16)];
                    rng.nextBytes(extra);
                    byte[] n = Arrays.copyOf(b, b.length + extra.length);
                    System.arraycopy(extra, 0, n, b.length, extra.length);
                    b = n;
                }
                case 3 -> b = withLengthPrefix(b, rng); // lie about the header length
                case 4 -> b = replaceInHeader(b, NUMBERS, "-?[0-9][0-9.eE+]*", rng); // numbers in shapes and offsets
                case 5 -> b = replaceInHeader(b, TOKENS, "\"[^\"]*\"|\\[\\]|null", rng); // strings and tokens
                case 6 -> b = splice(b, other, rng); // a piece of another header
                default -> { // an interesting byte
                    byte[] interesting = {0, -1, '"', '[', ']', '{', '}', ',', ':', '\\', '9', ' '};
                    if (b.length > 0) b[rng.nextInt(b.length)] = interesting[rng.nextInt(interesting.length)];
                }
            }
        }
        return b;
    }

    private static byte[] withLengthPrefix(byte[] b, SplittableRandom rng) {
        if (b.length < 8) return b;
        ByteBuffer buf = ByteBuffer.wrap(b.clone()).order(ByteOrder.LITTLE_ENDIAN);
        long len = buf.getLong(0);
        long[] choices = {len + 1, len - 1, len + 8, len - 8, 0, 1, 2, -1, Long.MAX_VALUE, Long.MIN_VALUE,
                b.length, b.length - 8, 100L << 20, (100L << 20) + 1, rng.nextLong()};
        buf.putLong(0, choices[rng.nextInt(choices.length)]);
        return buf.array();
    }

    /** Replaces one regex match inside the header text, keeping the length prefix consistent. */
    private static byte[] replaceInHeader(byte[] b, String[] replacements, String regex, SplittableRandom rng) {
        Header h = Header.of(b);
        if (h == null) return b;
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(regex).matcher(h.text);
        List<int[]> spans = new ArrayList<>();
        while (m.find()) spans.add(new int[] {m.start(), m.end()});
        if (spans.isEmpty()) return b;
        int[] s = spans.get(rng.nextInt(spans.size()));
        String text = h.text.substring(0, s[0]) + replacements[rng.nextInt(replacements.length)] + h.text.substring(s[1]);
        return h.rebuild(text);
    }

    private static byte[] splice(byte[] b, byte[] other, SplittableRandom rng) {
        Header h = Header.of(b);
        Header o = Header.of(other);
        if (h == null || o == null || h.text.isEmpty() || o.text.isEmpty()) return b;
        int a0 = rng.nextInt(h.text.length());
        int a1 = a0 + rng.nextInt(h.text.length() - a0 + 1);
        int b0 = rng.nextInt(o.text.length());
        int b1 = b0 + rng.nextInt(Math.min(64, o.text.length() - b0) + 1);
        return h.rebuild(h.text.substring(0, a0) + o.text.substring(b0, b1) + h.text.substring(a1));
    }

    /** A file split into header text and data, when its prefix and header are intact enough to edit. */
    private record Header(String text, byte[] data) {
        static Header of(byte[] b) {
            if (b.length < 8) return null;
            long len = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            if (len < 0 || len > b.length - 8) return null;
            String text = new String(b, 8, (int) len, StandardCharsets.UTF_8);
            return new Header(text, Arrays.copyOfRange(b, 8 + (int) len, b.length));
        }

        byte[] rebuild(String newText) {
            byte[] t = newText.getBytes(StandardCharsets.UTF_8);
            ByteBuffer out = ByteBuffer.allocate(8 + t.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
            out.putLong(t.length).put(t).put(data);
            return out.array();
        }
    }
}
