package org.moescope.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/** One in-process run of the `moescope` command, as the command tests see it: exit status, stdout, stderr. */
record CliRun(int status, String out, String err) {
    static CliRun run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new CliRun(status, out.toString(), err.toString());
    }
}
