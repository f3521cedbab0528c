package org.moescope.serve;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.function.LongSupplier;

/**
 * The server's counters, gauges and histograms, written in Prometheus' text exposition format (version 0.0.4) for
 * GET /metrics. Six metric families do not justify a client library: each line kind is one format call here.
 */
final class Metrics {
    private final Map<String, AtomicLong> requests = new TreeMap<>(); // "endpoint\0status" -> count
    final AtomicLong promptTokens = new AtomicLong();
    final AtomicLong generationTokens = new AtomicLong();
    final AtomicLong steps = new AtomicLong();
    final Histogram timeToFirstToken = new Histogram(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30);
    final Histogram interTokenLatency = new Histogram(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5);
    final Histogram batchSequences = new Histogram(1, 2, 4, 8, 16, 32, 64);
    final Histogram batchTokens = new Histogram(1, 2, 4, 8, 16, 32, 64, 128, 256, 512);
    private final LongSupplier running;
    private final LongSupplier waiting;
    private final LongSupplier kvUsed;
    private final long kvRows;

    Metrics(LongSupplier running, LongSupplier waiting, LongSupplier kvUsed, long kvRows) {
        this.running = running;
        this.waiting = waiting;
        this.kvUsed = kvUsed;
        this.kvRows = kvRows;
    }

    void request(String endpoint, int status) {
        AtomicLong c;
        synchronized (requests) {
            c = requests.computeIfAbsent(endpoint + '\0' + status, k -> new AtomicLong());
        }
        c.incrementAndGet();
    }

    /** A histogram with fixed upper bounds (the +Inf bucket is the count). */
    static final class Histogram {
        private final double[] bounds;
        private final AtomicLong[] buckets;
        private final AtomicLong count = new AtomicLong();
        private final DoubleAdder sum = new DoubleAdder();

        Histogram(double... bounds) {
            this.bounds = bounds;
            this.buckets = new AtomicLong[bounds.length];
            for (int i = 0; i < bounds.length; i++) buckets[i] = new AtomicLong();
        }

        void observe(double v) {
            for (int i = 0; i < bounds.length; i++) {
                if (v <= bounds[i]) buckets[i].incrementAndGet();
            }
            count.incrementAndGet();
            sum.add(v);
        }

        long count() {
            return count.get();
        }
    }

    String render() {
        StringBuilder b = new StringBuilder(4096);
        header(b, "moescope_requests_total", "counter", "HTTP requests by endpoint and status code");
        synchronized (requests) {
            requests.forEach((k, v) -> {
                String[] parts = k.split("\0");
                b.append("moescope_requests_total{endpoint=\"").append(parts[0]).append("\",status=\"").append(parts[1])
                        .append("\"} ").append(v.get()).append('\n');
            });
        }
        counter(b, "moescope_prompt_tokens_total", "prompt tokens of admitted requests", promptTokens.get());
        counter(b, "moescope_generation_tokens_total", "generated tokens", generationTokens.get());
        counter(b, "moescope_steps_total", "batched forward steps", steps.get());
        gauge(b, "moescope_running_sequences", "sequences being decoded", running.getAsLong());
        gauge(b, "moescope_waiting_sequences", "admitted sequences whose prompt is still being prefilled",
                waiting.getAsLong());
        gauge(b, "moescope_kv_cache_used_rows", "KV-cache rows reserved by admitted sequences", kvUsed.getAsLong());
        gauge(b, "moescope_kv_cache_rows", "KV-cache rows of the budget", kvRows);
        histogram(b, "moescope_time_to_first_token_seconds", "from admission to the first generated token",
                timeToFirstToken);
        histogram(b, "moescope_inter_token_latency_seconds", "between consecutive tokens of a sequence",
                interTokenLatency);
        histogram(b, "moescope_batch_sequences", "sequences per forward step", batchSequences);
        histogram(b, "moescope_batch_tokens", "tokens per forward step (decode tokens and prefill chunks)", batchTokens);
        return b.toString();
    }

    private static void header(StringBuilder b, String name, String type, String help) {
        b.append("# HELP ").append(name).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void counter(StringBuilder b, String name, String help, long v) {
        header(b, name, "counter", help);
        b.append(name).append(' ').append(v).append('\n');
    }

    private static void gauge(StringBuilder b, String name, String help, long v) {
        header(b, name, "gauge", help);
        b.append(name).append(' ').append(v).append('\n');
    }

    private static void histogram(StringBuilder b, String name, String help, Histogram h) {
        header(b, name, "histogram", help);
        for (int i = 0; i < h.bounds.length; i++) {
            b.append(name).append("_bucket{le=\"").append(number(h.bounds[i])).append("\"} ")
                    .append(h.buckets[i].get()).append('\n');
        }
        b.append(name).append("_bucket{le=\"+Inf\"} ").append(h.count.get()).append('\n');
        b.append(name).append("_sum ").append(number(h.sum.sum())).append('\n');
        b.append(name).append("_count ").append(h.count.get()).append('\n');
    }

    private static String number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : String.format(Locale.ROOT, "%s", v);
    }
}
