package org.moescope.backend;

import org.moescope.model.MoeModel;

import java.nio.file.Path;

/**
 * A way of running the model, found with {@link java.util.ServiceLoader}: the CPU backend lives in this module, others
 * (TornadoVM) in modules built only on request, so that the default build never needs their SDKs. Providers need a
 * public no-argument constructor and must be cheap to construct: nothing is initialised before {@link #load}.
 */
public interface Backend {
    /** The --backend name: "cpu", "tornado". */
    String name();

    /**
     * Null when this backend can be tried here, else one line saying what to install or set (the runtime, a device).
     * Must not start the runtime.
     */
    String unavailableReason();

    /**
     * Loads a checkpoint onto this backend.
     *
     * @throws BackendStartupException when the runtime or its device fails to start (no OpenCL platform, driver error)
     */
    MoeModel load(Path dir);
}
