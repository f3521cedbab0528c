import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A moescope command run N times in one JVM, to price the JIT's warm-up in a one-shot job: the first run is the cold
 * job's work (start-up aside), the later ones the same work with the kernels already compiled. Prints
 * {"run_seconds": [first, second, ...]} on stdout; the command's own stdout is dropped, its stderr passes through.
 *
 * <p>Usage (single-file source): java [the launcher's JVM options] -cp cli/target/moescope.jar tools/bench/WarmJob.java
 * N COMMAND ARGS... (llamacpp_compare.sh's "warm" phase runs it on the one-shot job's generate command).
 */
public class WarmJob {
    public static void main(String[] args) {
        int n = Integer.parseInt(args[0]);
        String[] command = Arrays.copyOfRange(args, 1, args.length);
        PrintWriter err = new PrintWriter(System.err, true);
        List<String> seconds = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            int rc = org.moescope.cli.Main.run(command, new PrintWriter(new StringWriter()), err);
            if (rc != 0) {
                System.exit(rc);
            }
            seconds.add(String.format(java.util.Locale.ROOT, "%.3f", (System.nanoTime() - t0) / 1e9));
        }
        System.out.println("{\"run_seconds\": [" + String.join(", ", seconds) + "]}");
    }
}
