package org.moescope.trace;

/**
 * One sample of a trace: a token sequence run on its own from position 0.
 *
 * @param id        the JSONL "id" (null when absent)
 * @param group     the JSONL "group", a domain label (null when absent)
 * @param ids       token ids, at least one
 * @param lossStart first token whose prediction counts in the per-sample loss (JSONL "loss_start", default 1)
 */
public record Sample(String id, String group, int[] ids, int lossStart) {
}
