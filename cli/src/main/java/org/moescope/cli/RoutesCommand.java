package org.moescope.cli;

import org.moescope.routing.RouteMerge;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code moescope routes}: operations on route files (docs/route-format.md). */
@Command(name = "routes", mixinStandardHelpOptions = true, description = "Operations on route files.",
        subcommands = RoutesCommand.Merge.class)
public final class RoutesCommand implements Runnable {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** {@code moescope routes merge}: the parts of a distributed trace into the file one trace writes. */
    @Command(name = "merge", mixinStandardHelpOptions = true,
            description = {"Join route files of consecutive sample ranges of one trace (e.g. the parts a --spark run "
                    + "left in OUT.parts/) into the file a single trace of all samples writes."})
    static final class Merge implements Callable<Integer> {
        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Parameters(arity = "1..*", paramLabel = "PART", description = "Route files in sample order, or directories "
                + "of them (their *.safetensors in name order).")
        List<Path> parts;

        @Option(names = "--out", required = true, description = "Merged route file to write.")
        Path out;

        @Override
        public Integer call() {
            List<Path> files = RouteMerge.expand(parts);
            RouteMerge.merge(files, out);
            spec.commandLine().getErr().println("merged " + files.size() + " route file(s)");
            spec.commandLine().getOut().println(out);
            return 0;
        }
    }
}
