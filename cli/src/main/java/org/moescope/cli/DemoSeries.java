package org.moescope.cli;

import org.moescope.errors.BadInputException;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Finds the bundled grokking series (fixtures/grokking) for `moescope monitor` without arguments: under
 * $MOESCOPE_HOME, the current directory or one of its parents, or the checkout the running jar was built in.
 */
final class DemoSeries {
    static final String RELATIVE = "fixtures/grokking";

    private DemoSeries() {
    }

    static Path locate() {
        String home = System.getenv("MOESCOPE_HOME");
        if (home != null && Files.isDirectory(Path.of(home).resolve(RELATIVE))) {
            return Path.of(home).resolve(RELATIVE);
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve(RELATIVE))) return p.resolve(RELATIVE);
        }
        try {
            Path jar = Path.of(DemoSeries.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            for (Path p = jar.getParent(); p != null; p = p.getParent()) {
                if (Files.isDirectory(p.resolve(RELATIVE))) return p.resolve(RELATIVE);
            }
        } catch (URISyntaxException | SecurityException | NullPointerException e) {
            // fall through to the error below
        }
        throw new BadInputException("cannot find the bundled demo (" + RELATIVE + "); run from the moescope checkout, "
                + "set MOESCOPE_HOME to it, or give --checkpoints and --data");
    }
}
