package org.moescope.monitor;

import org.moescope.checkpoint.Checkpoint;
import org.moescope.errors.BadInputException;
import org.moescope.pathways.RouterGeometry;
import org.moescope.safetensors.TensorInfo;

import java.nio.file.Path;
import java.util.Arrays;

/** Reads the routers ({@code model.layers.L.mlp.gate.weight}, experts × hidden) of a checkpoint for pathway consistency. */
public final class RouterWeights {
    private RouterWeights() {
    }

    public static RouterGeometry load(Path checkpointDir, int layers, int experts) {
        try (Checkpoint ck = Checkpoint.open(checkpointDir)) {
            float[][][] w = new float[layers][experts][];
            for (int l = 0; l < layers; l++) {
                String name = "model.layers." + l + ".mlp.gate.weight";
                if (!ck.contains(name)) {
                    throw new BadInputException(checkpointDir + ": missing tensor '" + name + "' (the route file has "
                            + layers + " layers)");
                }
                TensorInfo info = ck.info(name);
                if (info.rank() != 2 || info.shape()[0] != experts) {
                    throw new BadInputException(checkpointDir + ": tensor '" + name + "' has shape " + info.shapeString()
                            + ", the route file has " + experts + " experts");
                }
                float[] flat = ck.readFloats(name);
                int hidden = (int) info.shape()[1];
                for (int e = 0; e < experts; e++) w[l][e] = Arrays.copyOfRange(flat, e * hidden, (e + 1) * hidden);
            }
            return RouterGeometry.of(w);
        }
    }
}
