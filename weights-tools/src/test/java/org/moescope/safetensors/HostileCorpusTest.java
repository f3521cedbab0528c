package org.moescope.safetensors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.errors.BadInputException;
import org.moescope.weights.WeightSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The reader side of the hostile corpus; the CLI side (every command, exit 2) is cli's WeightsHostileInputTest. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HostileCorpusTest {
    static final Path CORPUS = Path.of("src/test/resources/hostile");

    @TempDir
    Path tmp;

    @Test
    void committedCorpusIsWhatTheGeneratorWrites() throws IOException {
        Map<String, byte[]> generated = HostileCorpus.files();
        if (Boolean.getBoolean("hostile.regenerate")) {
            HostileCorpus.main(new String[] {CORPUS.toString()});
        }
        Set<String> committed = new TreeSet<>();
        try (Stream<Path> s = Files.walk(CORPUS)) {
            s.filter(Files::isRegularFile).forEach(p -> committed.add(CORPUS.relativize(p).toString().replace('\\', '/')));
        }
        assertEquals(new TreeSet<>(generated.keySet()), committed);
        for (Map.Entry<String, byte[]> e : generated.entrySet()) {
            assertArrayEquals(e.getValue(), Files.readAllBytes(CORPUS.resolve(e.getKey())), e.getKey());
        }
    }

    @Test
    void everyBrokenFileIsRejectedWithOneLineNamingIt() throws IOException {
        Map<String, String> cases = expected();
        int files = 0;
        for (Map.Entry<String, String> c : cases.entrySet()) {
            if (!c.getKey().endsWith(".safetensors")) {
                continue;
            }
            Path file = CORPUS.resolve(c.getKey());
            assertOneLine(c.getValue(), file, assertThrows(BadInputException.class, () -> SafetensorsFile.open(file).close(),
                    c.getKey()));
            Path dir = checkpointAround(file);
            assertOneLine(c.getValue(), dir, assertThrows(BadInputException.class, () -> WeightSource.open(dir).close(),
                    c.getKey()));
            files++;
        }
        assertTrue(files >= 25, "cases: " + files);
    }

    @Test
    void everyBrokenDirectoryIsRejectedWithOneLineNamingIt() throws IOException {
        int dirs = 0;
        for (Map.Entry<String, String> c : expected().entrySet()) {
            if (!c.getKey().startsWith("dirs/")) {
                continue;
            }
            Path dir = CORPUS.resolve(c.getKey());
            assertOneLine(c.getValue(), dir, assertThrows(BadInputException.class, () -> WeightSource.open(dir).close(),
                    c.getKey()));
            dirs++;
        }
        assertTrue(dirs >= 10, "cases: " + dirs);
    }

    /** The case name -> message fragment table the corpus carries (expected.tsv). */
    static Map<String, String> expected() throws IOException {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : Files.readAllLines(CORPUS.resolve("expected.tsv"), StandardCharsets.UTF_8)) {
            if (line.startsWith("#") || line.isBlank()) continue;
            String[] parts = line.split("\t", 2);
            m.put(parts[0], parts[1]);
        }
        return m;
    }

    private Path checkpointAround(Path file) throws IOException {
        Path dir = Files.createTempDirectory(tmp, "ckpt");
        Files.writeString(dir.resolve("config.json"), HostileCorpus.TINY_CONFIG);
        Files.copy(file, dir.resolve("model.safetensors"));
        return dir;
    }

    private static void assertOneLine(String fragment, Path subject, BadInputException e) {
        String m = e.getMessage();
        assertTrue(m.contains(fragment), "expected '" + fragment + "' in: " + m);
        assertFalse(m.contains("\n") || m.contains("\r"), m);
        assertTrue(m.contains(subject.toString()) || m.contains(subject.getFileName().toString()), m);
        assertTrue(m.length() < 400, "message too long: " + m.length());
    }
}
