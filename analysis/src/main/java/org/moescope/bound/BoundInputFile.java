package org.moescope.bound;

import org.moescope.errors.BadInputException;
import org.moescope.routing.RouteFile;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.SafetensorsFile;
import org.moescope.safetensors.TensorInfo;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Reads a BoundInput from a safetensors file of named F32/F64 tensors, or from one layer of a route file. */
public final class BoundInputFile {
    /** Tensor names of the input file; see docs/bound.md. */
    public static final List<String> TENSORS = List.of("X", "G", "y", "f", "Xtest", "Gtest", "ftest", "K", "Ktest");

    private BoundInputFile() {
    }

    /**
     * X [n, D], G [n, K], y [n], optional f [n], Xtest [m, D], Gtest [m, K], ftest [m], K [n, n], Ktest [m, n].
     * Tensors with other names are ignored, so one file can carry extra data.
     */
    public static BoundInput read(Path path) {
        try (SafetensorsFile file = SafetensorsFile.open(path)) {
            String source = path.toString();
            return new BoundInput(source,
                    matrix(file, "X"), matrix(file, "G"), vector(file, "y"), vector(file, "f"),
                    matrix(file, "Xtest"), matrix(file, "Gtest"), vector(file, "ftest"),
                    matrix(file, "K"), matrix(file, "Ktest"));
        }
    }

    /**
     * The bound on one MoE layer of a traced model: G = router_probs_mean[:, layer, :], X = hidden_mean[:, layer, :]
     * (what that layer's router reads, token-averaged per sample) and y = the per-sample loss. Samples with a NaN
     * loss (one-token samples) are left out. There is no noise-free f, so the in-sample risk compares with y.
     *
     * @return the input and how many samples were left out
     */
    public static RouteInput fromRoutes(Path path, int layer) {
        try (RouteFile routes = RouteFile.open(path)) {
            RouteFile.Dims dims = routes.dims();
            if (layer < 0 || layer >= dims.layers()) {
                throw new BadInputException("--layer must lie in [0, " + (dims.layers() - 1) + "] for " + path + ", got " + layer);
            }
            if (!routes.has(RouteFile.Field.HIDDEN_MEAN)) {
                throw new BadInputException(path + ": route file has no 'hidden_mean' (rerun trace with --save-hidden)");
            }
            int samples = dims.samples();
            int experts = dims.experts();
            int hidden = dims.hidden();
            int layers = dims.layers();
            float[] probs = routes.routerProbsMean(); // (N, L, E)
            float[] states = routes.hiddenMean(); // (N, L, H)
            float[] loss = routes.loss(); // (N)
            List<Integer> kept = new ArrayList<>();
            for (int i = 0; i < samples; i++) {
                if (!Float.isNaN(loss[i])) {
                    kept.add(i);
                }
            }
            if (kept.isEmpty()) {
                throw new BadInputException(path + ": every sample's loss is NaN (all one-token samples); nothing to fit");
            }
            int n = kept.size();
            double[][] x = new double[n][hidden];
            double[][] g = new double[n][experts];
            double[] y = new double[n];
            for (int r = 0; r < n; r++) {
                int i = kept.get(r);
                long stateBase = ((long) i * layers + layer) * hidden;
                long probBase = ((long) i * layers + layer) * experts;
                for (int h = 0; h < hidden; h++) {
                    x[r][h] = states[(int) (stateBase + h)];
                }
                for (int e = 0; e < experts; e++) {
                    g[r][e] = probs[(int) (probBase + e)];
                }
                y[r] = loss[i];
            }
            String source = path + " layer " + layer;
            return new RouteInput(new BoundInput(source, x, g, y, null, null, null, null, null, null), samples - n);
        }
    }

    /** A route file's layer as bound input, with the number of samples left out for a NaN loss. */
    public record RouteInput(BoundInput input, int droppedSamples) {
    }

    private static double[][] matrix(SafetensorsFile file, String name) {
        if (!file.contains(name)) {
            return null;
        }
        TensorInfo t = requireFloat(file, name);
        if (t.rank() != 2) {
            throw new BadInputException(file.path() + ": tensor " + name + " must have rank 2, has shape " + Arrays.toString(t.shape()));
        }
        int rows = Math.toIntExact(t.shape()[0]);
        int cols = Math.toIntExact(t.shape()[1]);
        double[] flat = file.readDoubles(name);
        double[][] m = new double[rows][cols];
        for (int i = 0; i < rows; i++) {
            System.arraycopy(flat, i * cols, m[i], 0, cols);
        }
        return m;
    }

    private static double[] vector(SafetensorsFile file, String name) {
        if (!file.contains(name)) {
            return null;
        }
        TensorInfo t = requireFloat(file, name);
        if (t.rank() != 1) {
            throw new BadInputException(file.path() + ": tensor " + name + " must have rank 1, has shape " + Arrays.toString(t.shape()));
        }
        return file.readDoubles(name);
    }

    private static TensorInfo requireFloat(SafetensorsFile file, String name) {
        TensorInfo t = file.info(name);
        if (t.dtype() != DType.F32 && t.dtype() != DType.F64) {
            throw new BadInputException(file.path() + ": tensor " + name + " has dtype " + t.dtype() + ", expected F32 or F64");
        }
        return t;
    }
}
