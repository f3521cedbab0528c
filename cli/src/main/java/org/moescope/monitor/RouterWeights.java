package org.moescope.monitor;

import org.moescope.checkpoint.Checkpoint;
import org.moescope.errors.BadInputException;
import org.moescope.model.ModelConfig;
import org.moescope.model.family.Families;
import org.moescope.pathways.RouterGeometry;
import org.moescope.safetensors.TensorInfo;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * Reads the routers (experts × hidden) of a checkpoint's MoE layers for pathway consistency, wherever its family keeps
 * them ({@link ModelConfig#routerTensor}).
 */
public final class RouterWeights {
    private RouterWeights() {
    }

    /** @param layers the route file's layer count (MoE layers), @param experts its experts per layer */
    public static RouterGeometry load(Path checkpointDir, int layers, int experts) {
        try (Checkpoint ck = Checkpoint.open(checkpointDir)) {
            ModelConfig c = Families.parse(ck.config(), ck.configSource());
            if (c.numMoeLayers() != layers || c.numExperts() != experts) {
                throw new BadInputException(checkpointDir + ": the checkpoint has " + c.numMoeLayers() + " MoE layers of "
                        + c.numExperts() + " experts, the route file " + layers + " of " + experts);
            }
            float[][][] w = new float[layers][experts][];
            for (int l = 0; l < layers; l++) {
                String name = c.routerTensor(l);
                if (!ck.contains(name)) {
                    throw new BadInputException(checkpointDir + ": missing tensor '" + name + "'");
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
