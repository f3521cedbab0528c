package org.moescope.spark;

import org.moescope.trace.Sample;
import org.moescope.trace.TraceCluster;
import org.moescope.trace.Tracer;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * A {@link TraceCluster.Job} as the executors receive it (in a broadcast): paths as strings, samples as arrays.
 *
 * @param out      the job's route file, null for losses only
 * @param parts    the job's parts directory
 * @param metadata the route-file metadata the caller gave, in its order
 */
record JobSpec(String checkpoint, String[] sampleIds, String[] groups, int[][] ids, int[] lossStarts, String out,
               String parts, LinkedHashMap<String, String> metadata, boolean saveLogits, boolean saveRouterLogits,
               boolean saveHidden, Integer batchTokens) implements Serializable {

    static JobSpec of(TraceCluster.Job job) {
        int n = job.samples().size();
        String[] sampleIds = new String[n], groups = new String[n];
        int[][] ids = new int[n][];
        int[] lossStarts = new int[n];
        for (int i = 0; i < n; i++) {
            Sample s = job.samples().get(i);
            sampleIds[i] = s.id();
            groups[i] = s.group();
            ids[i] = s.ids();
            lossStarts[i] = s.lossStart();
        }
        Tracer.Options o = job.options();
        return new JobSpec(job.checkpoint().toString(), sampleIds, groups, ids, lossStarts,
                job.out() == null ? null : job.out().toString(), job.parts().toString(),
                new LinkedHashMap<>(job.metadata()), o.saveLogits(), o.saveRouterLogits(), o.saveHidden(), o.batchTokens());
    }

    /** Samples [first, last). */
    List<Sample> samples(int first, int last) {
        List<Sample> out = new ArrayList<>(last - first);
        for (int i = first; i < last; i++) out.add(new Sample(sampleIds[i], groups[i], ids[i], lossStarts[i]));
        return out;
    }

    int size() {
        return ids.length;
    }

    Tracer.Options options() {
        return new Tracer.Options(saveLogits, saveRouterLogits, saveHidden, batchTokens);
    }

    Path partsDir() {
        return Path.of(parts);
    }
}
