package org.moescope.cli;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * A one-line progress bar with rate and ETA on stderr, redrawn at most a few times a second. When stderr is not a
 * terminal it prints a plain line every few seconds instead, so logs stay readable. The rate counts from the first
 * update: work reported then (a resumed job's earlier part, or a first batch that ran while the JIT warmed up) moves
 * the bar but not the rate.
 */
final class ProgressBar implements AutoCloseable {
    private final PrintWriter err;
    private final String label;
    private final String unit;
    private final long total;
    private final boolean terminal = System.console() != null;
    private long lastDrawNs;
    private long done;
    private long firstDone = -1; // done at the first update, and when it came
    private long firstNs;

    ProgressBar(PrintWriter err, String label, long total, String unit) {
        this.err = err;
        this.label = label;
        this.total = Math.max(1, total);
        this.unit = unit;
    }

    synchronized void update(long done) {
        this.done = done;
        long now = System.nanoTime();
        if (firstDone < 0) {
            firstDone = done;
            firstNs = now;
        }
        long interval = terminal ? 200_000_000L : 5_000_000_000L;
        if (now - lastDrawNs < interval && done < total) {
            return;
        }
        lastDrawNs = now;
        draw(now);
    }

    private void draw(long now) {
        double secs = (now - firstNs) / 1e9;
        double rate = firstDone >= 0 && secs > 0 ? (done - firstDone) / secs : 0;
        double frac = Math.min(1.0, (double) done / total);
        int width = 30;
        int filled = (int) Math.round(frac * width);
        String eta = done >= total ? "0s" : rate > 0 ? formatSeconds((total - done) / rate) : "?";
        String line = String.format(Locale.ROOT, "%s [%s%s] %3.0f%% %d/%d %s, %.0f %s/s, ETA %s", label,
                "#".repeat(filled), ".".repeat(width - filled), frac * 100, done, total, unit, rate, unit, eta);
        if (terminal) {
            err.print("\r" + line);
        } else {
            err.println(line);
        }
        err.flush();
    }

    static String formatSeconds(double s) {
        if (s < 60) return String.format(Locale.ROOT, "%.0fs", s);
        if (s < 3600) return String.format(Locale.ROOT, "%dm%02ds", (long) s / 60, (long) s % 60);
        return String.format(Locale.ROOT, "%dh%02dm", (long) s / 3600, ((long) s % 3600) / 60);
    }

    @Override
    public synchronized void close() {
        if (terminal) {
            draw(System.nanoTime());
            err.println();
        }
    }
}
