package org.moescope.gpu;

/**
 * Runs the kernels of {@link DeviceKernels} over a {@link DeviceState}: on the host ({@link JvmRunner}) or compiled
 * for a device (the TornadoVM backend). {@link DeviceModel} fills the per-call inputs before {@link #layer}(0) and
 * reads the outputs after {@link #routesToHost} and {@link #head}.
 */
public interface DeviceRunner extends AutoCloseable {
    /** Runs layer l on the live tokens; layer 0 takes the per-call inputs and x from the host. */
    void layer(int l);

    /** Makes layer l's route arrays (xb, routerLogits, probs, ids, weights) current on the host; called right after layer(l). */
    void routesToHost(int l);

    /** Computes logits for meta[1] rows (logitRows) from the last layer's x, current on the host afterwards. */
    void head();

    /** The runner and its device, e.g. "tornado PTX NVIDIA H200". */
    String describe();

    @Override
    void close();
}
