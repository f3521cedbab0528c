package org.moescope.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Ctrl-C in {@code moescope chat}, with a real SIGINT in a separate JVM: it stops the reply being streamed, the
 * session goes on (the next message is answered), at the prompt it prints a hint instead of ending the process, and
 * /exit or Ctrl-D ends it with status 0. Once through a pipe and {@code kill -INT} (what a terminal's Ctrl-C sends),
 * once in a real pseudo-terminal through util-linux {@code script}, where the typed ^C becomes SIGINT in the terminal
 * driver (skipped where {@code script} is not installed). The model has no end-of-turn token, so a reply runs until it
 * is stopped (up to 4,000 tokens, seconds on this tiny model).
 */
class ChatTerminalTest {
    @TempDir
    static Path dir;
    static Path model;

    @BeforeAll
    static void model() throws Exception {
        assumeTrue(!sigintIgnored(), "skipped: SIGINT is ignored in this process (started as a shell's background job?),"
                + " so the chat processes it starts inherit that and cannot be interrupted");
        model = ChatModels.create(dir.resolve("long"), 4096, false, 64, 4);
    }

    /**
     * Whether this process ignores SIGINT (Linux: bit 1 of SigIgn in /proc/self/status). A non-interactive shell
     * starts its `cmd &` jobs that way, children inherit it, and the JVM then installs no handler: a build run so
     * fails both tests below by timing out, through no fault of chat.
     */
    private static boolean sigintIgnored() throws Exception {
        Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status)) return false;
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("SigIgn:")) return (Long.parseUnsignedLong(line.substring(7).trim(), 16) & 2) != 0;
        }
        return false;
    }

    private static List<String> javaCommand() {
        String java = ProcessHandle.current().info().command().orElse("java");
        // Surefire runs tests from a manifest-only jar; the real class path is in this property.
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        return new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Dstdout.encoding=UTF-8", "-Dstderr.encoding=UTF-8", "-cp", cp, Main.class.getName(), "chat",
                "--model", model.toString(), "--max-new-tokens", "4000"));
    }

    /** Collects a stream's bytes as text in the background. */
    static final class Collector extends Thread {
        private final InputStream in;
        private final StringBuffer text = new StringBuffer();

        Collector(InputStream in) {
            this.in = in;
            setDaemon(true);
            start();
        }

        @Override
        public void run() {
            byte[] buf = new byte[4096];
            try {
                for (int n; (n = in.read(buf)) > 0; ) text.append(new String(buf, 0, n, StandardCharsets.UTF_8));
            } catch (IOException e) {
                // the process ended
            }
        }

        String text() {
            return text.toString();
        }

        void await(Predicate<String> done, String what, Collector... context) throws InterruptedException {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (!done.test(text())) {
                if (System.nanoTime() > end) {
                    StringBuilder b = new StringBuilder("timed out waiting for " + what + "; output:\n" + text());
                    for (Collector c : context) b.append("\n---\n").append(c.text());
                    fail(b.toString());
                }
                Thread.sleep(20);
            }
        }
    }

    private static Path onPath(String program) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (d.isEmpty()) continue;
            Path p = Path.of(d, program);
            if (Files.isExecutable(p)) return p;
        }
        return null;
    }

    private static final Pattern STATS = Pattern.compile("\\[(\\d+) tokens, ");

    private static List<Integer> replyLengths(String err) {
        List<Integer> out = new ArrayList<>();
        Matcher m = STATS.matcher(err);
        while (m.find()) out.add(Integer.parseInt(m.group(1)));
        return out;
    }

    private static int count(String s, String sub) {
        int n = 0;
        for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + 1)) n++;
        return n;
    }

    private static void sigint(Process p) throws Exception {
        // The shell's kill builtin: no separate kill binary needed.
        Process kill = new ProcessBuilder("sh", "-c", "kill -INT " + p.pid()).inheritIO().start();
        assertEquals(0, kill.waitFor(), "kill -INT");
    }

    @Test
    void sigintStopsTheReplyAndKeepsTheSession() throws Exception {
        Process p = new ProcessBuilder(javaCommand()).start();
        try {
            Collector out = new Collector(p.getInputStream());
            Collector err = new Collector(p.getErrorStream());
            OutputStream in = p.getOutputStream();
            err.await(e -> e.contains("> "), "the first prompt");
            assertTrue(err.text().contains("no end-of-turn token known"), err.text());

            in.write("tell me a long story\n".getBytes(StandardCharsets.UTF_8));
            in.flush();
            out.await(o -> o.length() >= 20, "the reply to stream", err);
            sigint(p);
            err.await(e -> e.contains("(reply stopped)"), "the reply to stop", out);
            err.await(e -> replyLengths(e).size() == 1 && e.endsWith("> "), "the next prompt", out);
            int first = replyLengths(err.text()).get(0);
            assertTrue(first > 0 && first < 4000, "stopped after " + first + " tokens");
            assertTrue(p.isAlive());

            // The session goes on: the next message is answered with the first turn in its prompt.
            int before = out.text().length();
            in.write("and then?\n".getBytes(StandardCharsets.UTF_8));
            in.flush();
            out.await(o -> o.length() >= before + 20, "the second reply", err);
            sigint(p);
            err.await(e -> count(e, "(reply stopped)") == 2 && replyLengths(e).size() == 2 && e.endsWith("> "),
                    "the second reply to stop", out);

            // At the prompt, Ctrl-C explains itself instead of ending the chat.
            sigint(p);
            err.await(e -> e.contains("(Ctrl-C stops a reply; /exit or Ctrl-D leaves)"), "the idle hint", out);
            assertTrue(p.isAlive());
            in.write("/exit\n".getBytes(StandardCharsets.UTF_8));
            in.flush();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "exits after /exit");
            assertEquals(0, p.exitValue(), err.text());
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void ctrlCInAPseudoTerminal() throws Exception {
        Path script = onPath("script");
        assumeTrue(script != null, "skipped: util-linux script (a pseudo-terminal) is not on the PATH");
        StringBuilder cmd = new StringBuilder("exec");
        for (String a : javaCommand()) cmd.append(" '").append(a.replace("'", "'\\''")).append('\'');
        // -q quiet, -f flush, -e the command's exit status, -c the command; the typescript goes nowhere.
        Process p = new ProcessBuilder(script.toString(), "-qfec", cmd.toString(), "/dev/null")
                .redirectErrorStream(true).start();
        try {
            Collector term = new Collector(p.getInputStream());
            OutputStream keys = p.getOutputStream();
            term.await(t -> t.contains("Ctrl-C stops a reply") && t.stripTrailing().endsWith(">"), "the first prompt");
            keys.write("tell me a long story\n".getBytes(StandardCharsets.UTF_8));
            keys.flush();
            int echoed = term.text().length();
            term.await(t -> t.length() > echoed + 200, "the reply to stream");
            keys.write(3); // ^C: the terminal driver sends SIGINT to the foreground process
            keys.flush();
            term.await(t -> t.contains("(reply stopped)") && t.stripTrailing().endsWith(">"), "the reply to stop");
            int first = replyLengths(term.text()).get(0);
            assertTrue(first > 0 && first < 4000, "stopped after " + first + " tokens");
            keys.write(4); // ^D at the start of a line: end of input
            keys.flush();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "exits at end of input:\n" + term.text());
            assertEquals(0, p.exitValue(), term.text());
        } finally {
            p.destroyForcibly();
        }
    }
}
