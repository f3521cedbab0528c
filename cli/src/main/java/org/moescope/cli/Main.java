package org.moescope.cli;

import org.moescope.errors.BadInputException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.Arrays;

/** The `moescope` command: one entry point, one subcommand per job. */
@Command(name = "moescope", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Mixture-of-Experts inference and routing analysis on the JVM.",
        subcommands = {
                CommandLine.HelpCommand.class,
                TraceCommand.class,
                GenerateCommand.class,
                ChatCommand.class,
                ServeCommand.class,
                BenchCommand.class,
                MonitorCommand.class,
                PathwaysCommand.class,
                ExploreCommand.class,
                BoundCommand.class,
                TokenizeCommand.class,
                TemplateCommand.class,
                WeightsCommand.class,
                RoutesCommand.class,
        })
public final class Main implements Runnable {
    /** Exit status for bad input (a file, field or option the user must fix). */
    public static final int EXIT_BAD_INPUT = 2;
    /** Exit status for a failure that is our bug or the machine's (out of memory, I/O error). */
    public static final int EXIT_INTERNAL = 1;

    /**
     * The subcommands, as the annotation lists them (picocli's AutoComplete and ManPageGenerator read it there too).
     * run() builds only the one that args name, under a bare root: picocli reflects over every command's options and
     * builds its model up front, and all fourteen with their nested commands cost each start 0.1-0.15 s
     * (docs/performance.md, "One-shot start-up"). --help, help, no command or an unknown one get the whole tree.
     */
    static final Class<?>[] COMMANDS = Main.class.getAnnotation(Command.class).subcommands();

    /** The project's version (cli/pom.xml), written into route files and reports. */
    public static final String VERSION = BuildInfo.CURRENT.version();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the CLI with the given streams; tests call this instead of main to read the exit status. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        String first = args.length > 0 ? args[0] : "";
        Class<?> named = first.equals("help") ? null : Arrays.stream(COMMANDS)
                .filter(c -> c.getAnnotation(Command.class).name().equals(first)).findFirst().orElse(null);
        CommandLine cmd = named == null ? new CommandLine(new Main())
                : new CommandLine(CommandSpec.create().name(Main.class.getAnnotation(Command.class).name()))
                        .addSubcommand(named);
        cmd.setOut(out);
        cmd.setErr(err);
        cmd.setExecutionExceptionHandler((ex, commandLine, parseResult) -> reportFailure(ex, err));
        cmd.setParameterExceptionHandler((ex, args1) -> {
            err.println("moescope: " + ex.getMessage());
            err.println("run 'moescope " + ex.getCommandLine().getCommandName() + " --help' for usage");
            return EXIT_BAD_INPUT;
        });
        return cmd.execute(args);
    }

    static int reportFailure(Throwable ex, PrintWriter err) {
        Throwable cause = ex;
        while (!(cause instanceof BadInputException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        if (cause instanceof BadInputException bad) {
            err.println("moescope: " + bad.getMessage());
            return EXIT_BAD_INPUT;
        }
        if (ex instanceof OutOfMemoryError) {
            err.println("moescope: out of memory; raise -Xmx through MOESCOPE_JAVA_OPTS");
            return EXIT_INTERNAL;
        }
        err.println("moescope: internal error: " + ex);
        if (System.getenv("MOESCOPE_DEBUG") != null) {
            ex.printStackTrace(err);
        } else {
            err.println("(set MOESCOPE_DEBUG=1 for the stack trace)");
        }
        return EXIT_INTERNAL;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"moescope " + BuildInfo.CURRENT.describe(), "Java " + Runtime.version()};
        }
    }
}
