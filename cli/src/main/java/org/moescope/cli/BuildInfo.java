package org.moescope.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * The version and git commit this jar was built from: build.properties, filled in by Maven's resource filtering
 * (git-commit-id-maven-plugin gives the commit; "unknown" when the build ran outside a git checkout).
 */
record BuildInfo(String version, String commit) {
    static final BuildInfo CURRENT = load();

    private static BuildInfo load() {
        Properties p = new Properties();
        try (InputStream in = BuildInfo.class.getResourceAsStream("build.properties")) {
            if (in == null) throw new IllegalStateException("build.properties is missing from the moescope jar");
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new BuildInfo(p.getProperty("version"), p.getProperty("commit"));
    }

    /** "0.1.0 (commit 8333e56)". */
    String describe() {
        return version + " (commit " + commit + ")";
    }
}
