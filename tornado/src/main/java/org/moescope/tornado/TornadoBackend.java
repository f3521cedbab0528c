package org.moescope.tornado;

import org.moescope.backend.Backend;
import org.moescope.backend.BackendStartupException;
import org.moescope.gpu.DeviceModel;
import org.moescope.model.MoeModel;
import uk.ac.manchester.tornado.api.TornadoRuntime;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.runtime.TornadoRuntimeProvider;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The forward pass compiled by TornadoVM for its default device (OpenCL or PTX, as the SDK was built; choose another
 * with TornadoVM's -Dtornado.device / -Ds0.t0.device flags). Needs the JVM started with the SDK's argfile
 * (tools/gpu/moescope-tornado). Chunk and cache sizes: -Dmoescope.tornado.tokens (tokens per kernel launch, default
 * 128) and -Dmoescope.tornado.cacheRows (KV cache rows, default 4096, capped at max_position_embeddings).
 */
public final class TornadoBackend implements Backend {
    static final String RUN_HINT = "run with tools/gpu/moescope-tornado and TORNADOVM_HOME set to the TornadoVM SDK "
            + "(JDK 25 build)";

    @Override
    public String name() {
        return "tornado";
    }

    @Override
    public String unavailableReason() {
        // The SDK's argfile sets these; without them TornadoVM's runtime cannot load in this JVM.
        if (System.getProperty("tornado.load.runtime.implementation") == null) {
            return "the TornadoVM runtime is not loaded in this JVM; " + RUN_HINT;
        }
        return null;
    }

    @Override
    public MoeModel load(Path dir) {
        // Fail rather than quietly run a kernel as sequential Java when the device compiler rejects it.
        if (System.getProperty("tornado.recover.bailout") == null) {
            System.setProperty("tornado.recover.bailout", "False");
        }
        // TornadoVM refuses allocations past this budget (default 4GB); the weights (the lm_head twice: one head
        // graph per logit-row count), caches and scratch need about twice the checkpoint.
        if (System.getProperty("tornado.device.memory") == null) {
            long gb = Math.max(4, (2 * checkpointBytes(dir) >> 30) + 2);
            System.setProperty("tornado.device.memory", gb + "GB");
        }
        TornadoDevice device = defaultDevice();
        int tokens = Integer.getInteger("moescope.tornado.tokens", 128);
        int cacheRows = Integer.getInteger("moescope.tornado.cacheRows", 4096);
        DeviceModel model = DeviceModel.load(dir, tokens, cacheRows, (c, w, s) -> new TornadoRunner(c, w, s, device));
        try {
            warmUp(model);
        } catch (RuntimeException | LinkageError e) {
            model.close();
            throw new BackendStartupException("TornadoVM could not compile or run the kernels on "
                    + device.getDeviceName() + ": " + oneLine(e), e);
        }
        return model;
    }

    private static long checkpointBytes(Path dir) {
        try (var files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".safetensors"))
                    .mapToLong(f -> f.toFile().length()).sum();
        } catch (IOException e) {
            return 0; // the checkpoint's own loading reports the problem
        }
    }

    /** Compiles every graph (first execution) with one token, so that device failures surface at load time. */
    private static void warmUp(DeviceModel model) {
        MoeModel.Session s = model.newSession(1);
        model.forward(s, new int[] {0}, MoeModel.Logits.LAST, null);
    }

    private static TornadoDevice defaultDevice() {
        try {
            TornadoRuntime rt = TornadoRuntimeProvider.getTornadoRuntime();
            if (rt.getNumBackends() == 0 || rt.getBackend(0).getNumDevices() == 0) {
                throw new BackendStartupException("TornadoVM found no device", null);
            }
            return rt.getDefaultDevice();
        } catch (BackendStartupException e) {
            throw e;
        } catch (RuntimeException | LinkageError e) {
            throw new BackendStartupException("TornadoVM failed to start: " + oneLine(e), e);
        }
    }

    static String oneLine(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        String m = t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
        m = m.replaceAll("\u001B\\[[0-9;]*m", "").replaceAll("\\s+", " ").strip();
        return m.length() > 300 ? m.substring(0, 300) + "..." : m;
    }
}
