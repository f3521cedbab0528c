package org.moescope.trace;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Runs traces on a cluster instead of in this process: what {@code trace --spark} and {@code monitor --spark} call.
 * A provider is found with {@link java.util.ServiceLoader} (the optional {@code spark} module provides one), so
 * the CLI carries no cluster dependency. Each job's result must be what {@link Tracer#trace} of the same job in this
 * process returns, and its route file the file that trace writes (docs/scale-out.md).
 */
public interface TraceCluster {
    /**
     * One trace: samples through the checkpoint, with the CPU backend.
     *
     * @param out      the route file to write; null computes losses and accuracy only
     * @param parts    directory for the job's finished pieces; a rerun skips the pieces found there, a finished job
     *                 deletes it
     * @param metadata extra route-file metadata, as Tracer.trace takes it
     */
    record Job(Path checkpoint, List<Sample> samples, Path out, Path parts, Map<String, String> metadata,
               Tracer.Options options) {
    }

    /**
     * Runs every job on the cluster at master (as spark-submit's --master takes it) and returns their results in job
     * order; {@link Tracer.Result#tokens()} counts the tokens traced by this run (a rerun leaves out finished pieces).
     *
     * @param notes receives progress and reuse lines for the user
     */
    List<Tracer.Result> run(String master, List<Job> jobs, Consumer<String> notes);
}
