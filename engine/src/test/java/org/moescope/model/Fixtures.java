package org.moescope.model;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the committed fixtures (repo root /fixtures) from a module's test working directory. */
public final class Fixtures {
    private Fixtures() {
    }

    public static Path root() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("fixtures/models"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("cannot find fixtures/models above " + Path.of("").toAbsolutePath());
        }
        return p.resolve("fixtures");
    }

    public static Path model(String name) {
        return root().resolve("models").resolve(name);
    }

    /** The read-only shared material beside the checkout; tests that need it skip with a message when absent. */
    public static Path shared(String relative) {
        Path p = root().getParent().getParent().resolve("shared").resolve(relative);
        Assumptions.assumeTrue(Files.exists(p), "skipped: " + p + " is absent (../shared is not available here)");
        return p;
    }
}
