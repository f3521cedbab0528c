package org.moescope.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Headless Chromium from the command line, for the browser tests: {@code --dump-dom} after the page's scripts and
 * timers have run (virtual time), and {@code --screenshot}. No driver, no download: the system's chromium (Debian
 * {@code chromium}; .ci/run installs it) or {@code $MOESCOPE_CHROMIUM}. Tests skip when there is none.
 */
final class Chromium {
    private final Path binary;
    private final Path profile;

    private Chromium(Path binary, Path profile) {
        this.binary = binary;
        this.profile = profile;
    }

    /** The browser, or null when none is installed. */
    static Chromium find(Path workDir) throws IOException {
        List<String> candidates = new ArrayList<>();
        String env = System.getenv("MOESCOPE_CHROMIUM");
        if (env != null && !env.isBlank()) candidates.add(env);
        candidates.addAll(List.of("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"));
        for (String c : candidates) {
            Path p = c.contains("/") ? Path.of(c) : onPath(c);
            if (p != null && Files.isExecutable(p)) {
                return new Chromium(p, Files.createDirectories(workDir.resolve("chromium-profile")));
            }
        }
        return null;
    }

    private static Path onPath(String name) {
        String path = System.getenv("PATH");
        if (path == null) return null;
        for (String d : path.split(java.io.File.pathSeparator)) {
            Path p = Path.of(d, name);
            if (Files.isExecutable(p)) return p;
        }
        return null;
    }

    /** The DOM after load and {@code virtualMs} of the page's timers. */
    String dumpDom(Path html, String hash, int virtualMs) throws IOException, InterruptedException {
        return run(List.of("--dump-dom", "--virtual-time-budget=" + virtualMs, url(html, hash)));
    }

    /** A PNG of the top {@code width} × {@code height} pixels of the page. */
    void screenshot(Path html, String hash, Path png, int width, int height) throws IOException, InterruptedException {
        Files.createDirectories(png.toAbsolutePath().getParent());
        run(List.of("--screenshot=" + png.toAbsolutePath(), "--window-size=" + width + "," + height,
                "--virtual-time-budget=3000", url(html, hash)));
        if (!Files.exists(png)) throw new IOException("chromium wrote no screenshot " + png);
    }

    private static String url(Path html, String hash) {
        return html.toAbsolutePath().toUri() + (hash == null ? "" : hash);
    }

    private String run(List<String> args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(binary.toString(), "--headless", "--disable-gpu", "--no-sandbox",
                "--hide-scrollbars", "--no-first-run", "--disable-extensions", "--user-data-dir=" + profile));
        cmd.addAll(args);
        // Output goes to a file, so that a browser that hangs cannot block the test on a full pipe.
        Path out = Files.createTempFile(profile.getParent(), "chromium", ".out");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("chromium did not finish: " + cmd);
        }
        if (p.exitValue() != 0) throw new IOException("chromium exited with " + p.exitValue() + ": " + cmd);
        return Files.readString(out, StandardCharsets.UTF_8);
    }
}
