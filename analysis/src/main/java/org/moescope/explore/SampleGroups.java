package org.moescope.explore;

import org.moescope.errors.BadInputException;
import org.moescope.memorisation.EpsilonSelection;
import org.moescope.memorisation.MemorisationSteps;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The groups the explorer shows pathways for: all samples; each domain (the JSONL {@code group} field) when there is
 * more than one; and, for a series, the memorisation groups as {@code monitor} forms them (the step at which a sample's
 * loss became low and stable, ε chosen for 20–25% memorised, δ = 0.05; docs/metrics.md), so that the explorer's groups
 * are the report's.
 *
 * @param groups        at most {@link #MAX_GROUPS}, "all" first, then the largest
 * @param omitted       groups left out by the cap
 * @param memorisation  how the memorisation groups were formed, or why there are none (one line)
 */
public record SampleGroups(List<Group> groups, int omitted, String memorisation) {
    /** Each group costs L × E floats per checkpoint in the page; a few dozen are as many as anyone reads. */
    public static final int MAX_GROUPS = 40;

    /** @param kind "all", "domain" or "memorisation" */
    public record Group(String name, String kind, int[] members) {
    }

    /**
     * @param domains each sample's domain label (null where absent)
     * @param losses  [checkpoints][samples] per-sample losses in training order
     * @param steps   each checkpoint's step (or index) for the memorisation labels
     */
    public static SampleGroups of(List<String> domains, float[][] losses, long[] steps) {
        int n = domains.size();
        List<Group> out = new ArrayList<>();
        int[] all = new int[n];
        for (int i = 0; i < n; i++) all[i] = i;
        out.add(new Group("all", "all", all));
        boolean multiDomain = domains.stream().filter(Objects::nonNull).distinct().count() > 1
                || (domains.contains(null) && domains.stream().anyMatch(Objects::nonNull));
        List<Group> rest = new ArrayList<>();
        if (multiDomain) {
            Map<String, List<Integer>> byDomain = new LinkedHashMap<>();
            for (int i = 0; i < n; i++) byDomain.computeIfAbsent(domainLabel(domains.get(i)), k -> new ArrayList<>()).add(i);
            byDomain.forEach((name, members) -> rest.add(new Group(name, "domain", toArray(members))));
        }
        String note;
        if (losses.length < 2) {
            note = "memorisation groups need a series of checkpoints; this page has one";
        } else {
            try {
                EpsilonSelection.Choice eps = EpsilonSelection.select(losses, MemorisationSteps.DEFAULT_DELTA);
                int[] st = MemorisationSteps.steps(losses, eps.epsilon(), MemorisationSteps.DEFAULT_DELTA);
                Map<String, List<Integer>> byStep = new LinkedHashMap<>();
                for (int i = 0; i < n; i++) {
                    String label = MemorisationSteps.isMemorised(st[i], losses.length) ? "memorised@" + steps[st[i]]
                            : "not memorised";
                    if (multiDomain) label = domainLabel(domains.get(i)) + "/" + label;
                    byStep.computeIfAbsent(label, k -> new ArrayList<>()).add(i);
                }
                byStep.forEach((name, members) -> rest.add(new Group(name, "memorisation", toArray(members))));
                note = String.format(java.util.Locale.ROOT, "memorisation groups as in monitor: epsilon = %.1f "
                        + "(%.1f%% of samples memorised before the last checkpoint), delta = %.2f",
                        eps.epsilon(), 100 * eps.memorisedFraction(), MemorisationSteps.DEFAULT_DELTA);
            } catch (BadInputException e) {
                note = "no memorisation groups: " + e.getMessage();
            }
        }
        rest.sort(Comparator.comparingInt((Group g) -> -g.members().length)); // stable: ties keep their order
        int keep = Math.min(rest.size(), MAX_GROUPS - 1);
        out.addAll(rest.subList(0, keep));
        return new SampleGroups(out, rest.size() - keep, note);
    }

    static String domainLabel(String d) {
        return d == null ? "(no group)" : d;
    }

    private static int[] toArray(List<Integer> l) {
        return l.stream().mapToInt(Integer::intValue).toArray();
    }
}
