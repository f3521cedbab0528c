package org.moescope.backend;

import org.moescope.kernels.VectorKernels;
import org.moescope.model.MoeModel;
import org.moescope.model.MoeTransformer;

import java.nio.file.Path;

/** The Vector API forward pass on all cores: always available, the fallback of every other backend. */
public final class CpuBackend implements Backend {
    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String unavailableReason() {
        return null;
    }

    @Override
    public MoeModel load(Path dir) {
        return MoeTransformer.load(dir, new VectorKernels());
    }
}
