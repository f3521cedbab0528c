package org.moescope.backend;

import org.moescope.errors.BadInputException;
import org.moescope.model.MoeModel;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.function.Consumer;

/**
 * Chooses the backend for --backend cpu|tornado|auto. "auto" tries every non-CPU backend that says it can run here
 * and falls back to the CPU, with a warning, when one fails to start; naming a backend that is absent or unusable is
 * bad input with one line saying what to install.
 */
public final class Backends {
    /** What to install for the GPU backend, shown when it is asked for and absent from the class path. */
    static final String TORNADO_HINT = "install the TornadoVM SDK (JDK 25 build), set TORNADOVM_HOME, build with "
            + "-Ptornado and run with tools/gpu/moescope-tornado (see README, GPU backend)";

    private final List<Backend> found;

    public Backends(List<Backend> found) {
        this.found = List.copyOf(found);
    }

    /** The backends on the class path (META-INF/services/org.moescope.backend.Backend). */
    public static Backends discover() {
        List<Backend> list = new ArrayList<>();
        ServiceLoader.load(Backend.class).forEach(list::add);
        return new Backends(list);
    }

    public List<String> names() {
        return found.stream().map(Backend::name).toList();
    }

    /**
     * @param choice "cpu", "auto" or a backend's name
     * @param warn   receives one line when auto falls back to the CPU
     */
    public MoeModel load(String choice, Path dir, Consumer<String> warn) {
        if (choice.equals("auto")) {
            for (Backend b : found) {
                if (b.name().equals("cpu") || b.unavailableReason() != null) {
                    continue;
                }
                try {
                    return b.load(dir);
                } catch (BackendStartupException e) {
                    warn.accept("warning: --backend auto: " + e.getMessage() + "; running on the CPU");
                }
            }
            return byName("cpu").load(dir);
        }
        Backend b = byName(choice);
        if (b == null) {
            if (choice.equals("tornado")) {
                throw new BadInputException("--backend tornado: the TornadoVM backend is not in this build; "
                        + TORNADO_HINT);
            }
            throw new BadInputException("--backend " + choice + ": unknown backend; choose cpu, tornado or auto");
        }
        String why = b.unavailableReason();
        if (why != null) {
            throw new BadInputException("--backend " + choice + ": " + why);
        }
        try {
            return b.load(dir);
        } catch (BackendStartupException e) {
            throw new BadInputException("--backend " + choice + ": " + e.getMessage());
        }
    }

    private Backend byName(String name) {
        for (Backend b : found) {
            if (b.name().equals(name)) return b;
        }
        return name.equals("cpu") ? new CpuBackend() : null;
    }
}
