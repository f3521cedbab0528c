package org.moescope.cli;

import org.moescope.checkpoint.Checkpoint;
import org.moescope.errors.BadInputException;
import org.moescope.explore.ExplorerBuilder;
import org.moescope.explore.ExplorerPage;
import org.moescope.explore.RouteSeries;
import org.moescope.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code moescope explore}: one self-contained HTML page to look at the routing of route files (docs/explorer.md).
 * Thin: resolves the inputs and the tokenizer, then {@link ExplorerBuilder} and {@link ExplorerPage} do the work.
 */
@Command(name = "explore", mixinStandardHelpOptions = true,
        description = {"Write an interactive, self-contained HTML page of route files: expert load and probabilities per",
                "layer, co-activation, samples token by token, pathways compared, groups, and all of it across checkpoints.",
                "With no --routes: the bundled demo's monitor output (monitor-report/, from './moescope monitor')."})
public final class ExploreCommand implements Callable<Integer> {
    static final String DEMO_OUTPUT = "monitor-report";

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--routes", arity = "1..*", description = "Route files, directories of them, or a monitor output "
            + "directory (its routes/: a series of checkpoints). Default: " + DEMO_OUTPUT + ".")
    List<Path> routes;

    @Option(names = "--model", paramLabel = "DIR|FILE.gguf", description = "Checkpoint directory whose tokenizer.json "
            + "decodes the tokens, or a GGUF file with its tokenizer (default: the route files' model_path, when it has "
            + "one).")
    Path model;

    @Option(names = "--tokenizer", description = "tokenizer.json to decode the tokens (instead of --model's).")
    Path tokenizer;

    @Option(names = "--out", defaultValue = "explore-report", description = "Output directory; the page is OUT/explorer.html (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--tau", defaultValue = "0.7", description = "Pathway threshold (default: ${DEFAULT-VALUE}).")
    double tau;

    @Option(names = "--detail-mb", defaultValue = "32", description = "Megabytes of per-sample, per-token detail to embed; "
            + "samples beyond it are left out of the sample views, evenly spaced (default: ${DEFAULT-VALUE}).")
    double detailMb;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        if (routes == null) {
            if (!Files.isDirectory(Path.of(DEMO_OUTPUT, "routes"))) {
                throw new BadInputException("no --routes given and no " + DEMO_OUTPUT + "/routes here: run './moescope "
                        + "monitor' first (the bundled demo) or give --routes FILE...");
            }
            routes = List.of(Path.of(DEMO_OUTPUT));
            err.println("explore: no --routes given: exploring " + DEMO_OUTPUT + "/ (the monitor's default output)");
        }
        if (!(detailMb >= 0 && detailMb <= 1024)) throw new BadInputException("--detail-mb must be in [0, 1024]");
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new BadInputException("--out " + out + ": is a file; explore writes a directory");
        }
        RouteSeries series = RouteSeries.resolve(routes);
        Tokenizer tok = tokenizer(series, err);
        ExplorerBuilder.Options options = new ExplorerBuilder.Options(tau, (long) (detailMb * (1 << 20)),
                tok == null ? null : id -> text(tok, id), tok == null ? null : tok.source(),
                Runtime.getRuntime().availableProcessors());
        long t0 = System.nanoTime();
        ExplorerBuilder.Content content = ExplorerBuilder.build(series, options, line -> {
            err.println(line);
            err.flush();
        });
        String type = series.metadata().getOrDefault("model_type", "");
        String title = "moescope explore: " + (type.isEmpty() ? "" : type + ", ") + series.checkpoints()
                + (series.checkpoints() == 1 ? " checkpoint" : " checkpoints");
        Path page = out.resolve("explorer.html");
        ExplorerPage.write(page, content, title);
        ExplorerBuilder.Summary s = content.summary();
        err.printf(Locale.ROOT, "explore: %d samples, %d tokens, %d checkpoint(s); per-sample detail for %d samples "
                        + "(%.1f MB); %.1f s%n", s.samples(), s.tokens(), s.checkpoints(), s.detailSamples(),
                s.detailBytes() / 1048576.0, (System.nanoTime() - t0) / 1e9);
        spec.commandLine().getOut().println(page);
        return 0;
    }

    private Tokenizer tokenizer(RouteSeries series, PrintWriter err) {
        if (tokenizer != null) return Tokenizer.load(tokenizer);
        if (model != null) {
            Checkpoint.checkModelPath(model);
            if (Tokenizer.inModel(model)) return Tokenizer.forModelDirectory(model);
            err.println("explore: " + model + " has no tokenizer" + (Files.isDirectory(model) ? ".json" : " (no "
                    + "tokenizer.ggml.model)") + ": tokens are shown as ids");
            return null;
        }
        String path = series.metadata().get("model_path");
        if (path != null && !path.isBlank()) {
            Path dir = Path.of(path);
            if ((Files.isDirectory(dir) || Checkpoint.isGguf(dir)) && Tokenizer.inModel(dir)) {
                return Tokenizer.forModelDirectory(dir);
            }
        }
        return null;
    }

    /** One token's text; an id the tokenizer does not know is shown as its number. */
    private static String text(Tokenizer tok, int id) {
        if (tok.idToToken(id) == null) return null;
        try {
            return tok.decode(new int[] {id}, false);
        } catch (BadInputException e) {
            return null;
        }
    }
}
