package org.moescope.memorisation;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The samples of one domain memorised at one checkpoint ("memorised @ step 245000"). Pathway pairs are taken only
 * within such a group (paper Fig. 4).
 *
 * @param domain     the JSONL {@code group} field; null when the samples had none
 * @param checkpoint index of the memorisation checkpoint in the ordered list
 * @param step       that checkpoint's training step
 * @param samples    sample indices, ascending
 */
public record MemorisationGroup(String domain, int checkpoint, long step, int[] samples) {
    public MemorisationGroup {
        samples = samples.clone();
    }

    @Override
    public int[] samples() {
        return samples.clone();
    }

    public int size() {
        return samples.length;
    }

    /** E.g. {@code memorised @ step 245000}. */
    public String label() {
        return "memorised @ step " + step;
    }

    /**
     * Groups the memorised samples (step before the final checkpoint, {@link MemorisationSteps#isMemorised}) by
     * domain and memorisation checkpoint; ordered by domain (null first) then checkpoint. Samples memorised only at
     * the final checkpoint or never are left out.
     *
     * @param steps           (samples) from {@link MemorisationSteps#steps}
     * @param domains         (samples) each sample's domain, or null for "all one domain"
     * @param checkpointSteps (checkpoints) training step of each checkpoint, in order
     */
    public static List<MemorisationGroup> of(int[] steps, List<String> domains, long[] checkpointSteps) {
        if (domains != null && domains.size() != steps.length) {
            throw new IllegalArgumentException(domains.size() + " domains for " + steps.length + " samples");
        }
        Comparator<String> nullFirst = Comparator.nullsFirst(Comparator.naturalOrder());
        Map<String, Map<Integer, List<Integer>>> byDomain = new TreeMap<>(nullFirst);
        for (int i = 0; i < steps.length; i++) {
            if (!MemorisationSteps.isMemorised(steps[i], checkpointSteps.length)) continue;
            String domain = domains == null ? null : domains.get(i);
            byDomain.computeIfAbsent(domain, d -> new TreeMap<>()).computeIfAbsent(steps[i], t -> new ArrayList<>()).add(i);
        }
        List<MemorisationGroup> groups = new ArrayList<>();
        byDomain.forEach((domain, byStep) -> byStep.forEach((t, members) -> groups.add(new MemorisationGroup(domain, t,
                checkpointSteps[t], members.stream().mapToInt(Integer::intValue).toArray()))));
        return groups;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MemorisationGroup g && Objects.equals(g.domain, domain) && g.checkpoint == checkpoint
                && g.step == step && Arrays.equals(g.samples, samples);
    }

    @Override
    public int hashCode() {
        return Objects.hash(domain, checkpoint, step, Arrays.hashCode(samples));
    }

    @Override
    public String toString() {
        return "MemorisationGroup[domain=" + domain + ", " + label() + ", samples=" + Arrays.toString(samples) + "]";
    }
}
