package org.moescope.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine.Command;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Main builds only the subcommand that the arguments name; everything else sees all of them. */
class MainTest {
    @Test
    void helpListsEveryCommand() {
        for (String[] args : new String[][] {{"--help"}, {"help"}, {}}) {
            CliRun r = CliRun.run(args);
            assertEquals(0, r.status(), r.err());
            for (Class<?> c : Main.COMMANDS) {
                String name = c.getAnnotation(Command.class).name();
                assertTrue(r.out().contains("\n  " + name + " "), String.join(" ", args) + " lists " + name + ":\n" + r.out());
            }
        }
    }

    @Test
    void namedCommandsRunAndHelpStillReachesThem() {
        CliRun help = CliRun.run("help", "generate");
        assertEquals(0, help.status(), help.err());
        assertTrue(help.out().startsWith("Usage: moescope generate"), help.out());
        CliRun nested = CliRun.run("weights", "init", "--help");
        assertEquals(0, nested.status(), nested.err());
        assertTrue(nested.out().startsWith("Usage: moescope weights init"), nested.out());
    }

    @Test
    void anUnknownCommandIsAUsageError() {
        CliRun r = CliRun.run("generat", "--model", "x");
        assertEquals(Main.EXIT_BAD_INPUT, r.status());
        assertTrue(r.err().startsWith("moescope: Unmatched arguments from index 0: 'generat'"), r.err());
    }
}
