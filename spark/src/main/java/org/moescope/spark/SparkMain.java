package org.moescope.spark;

import org.moescope.cli.Main;

import java.util.ArrayList;
import java.util.List;

/**
 * The main class of moescope-spark.jar for spark-submit: the moescope CLI, where {@code trace} and {@code monitor}
 * run on the master spark-submit was given (its --master becomes their --spark), so that
 * {@code spark-submit --master M moescope-spark.jar trace ...} does what {@code moescope trace ... --spark M} does.
 */
public final class SparkMain {
    private SparkMain() {
    }

    public static void main(String[] args) {
        List<String> a = new ArrayList<>(List.of(args));
        String master = System.getProperty("spark.master");
        if (master != null && !a.contains("--spark") && !a.isEmpty()
                && (a.get(0).equals("trace") || a.get(0).equals("monitor"))) {
            a.addAll(1, List.of("--spark", master));
        }
        Main.main(a.toArray(String[]::new));
    }
}
