package org.moescope.e2e;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The repository must work on any machine and stand on its own: no text file names one machine's paths (a personal
 * virtual environment, a home or work directory) or points at notes outside the repository.
 */
class RepositoryHygieneTest {
    // Spelled in pieces so that this file does not name them itself.
    static final List<String> FORBIDDEN = List.of("/" + "work/", "/" + "root/", "/" + "home/", "/tmp/" + "venv",
            "shared/" + "docs");
    static final Set<String> TEXT = Set.of("java", "md", "py", "sh", "json", "jsonl", "xml", "txt", "properties", "html",
            "csv", "cfg", "yml", "yaml");

    @Test
    void noFileNamesAMachinesPathsOrNotesOutsideTheRepository() throws IOException {
        Path root = CliTraceGenerateTest.fixtures().getParent();
        List<String> hits = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : files.filter(Files::isRegularFile).filter(p -> scanned(root, p)).toList()) {
                List<String> lines = Files.readAllLines(f, StandardCharsets.ISO_8859_1); // any bytes, no decoding errors
                for (int i = 0; i < lines.size(); i++) {
                    for (String bad : FORBIDDEN) {
                        if (lines.get(i).contains(bad)) {
                            hits.add(root.relativize(f) + ":" + (i + 1) + ": " + bad);
                        }
                    }
                }
            }
        }
        assertEquals(List.of(), hits);
    }

    private static boolean scanned(Path root, Path p) {
        Path rel = root.relativize(p);
        for (Path part : rel) {
            String s = part.toString();
            if (s.equals("target") || s.startsWith(".") && !s.equals(".ci") && !s.equals(".mvn")) return false;
        }
        String name = p.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return (dot >= 0 && TEXT.contains(name.substring(dot + 1))) || name.equals("moescope") || name.equals("run");
    }
}
