package org.moescope.weights;

import org.moescope.errors.BadInputException;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Byte counts as HF writes them: "5GB" is 5 * 10^9 bytes, "5GiB" is 5 * 2^30; a bare number is bytes. */
public final class ByteSizes {
    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([KMGT]?I?B)?");

    private ByteSizes() {
    }

    public static long parse(String text, String option) {
        Matcher m = SIZE.matcher(text.trim().toUpperCase(Locale.ROOT));
        if (!m.matches()) {
            throw new BadInputException(option + " " + text + ": expected a size such as 5GB, 500MB, 2GiB or 1048576");
        }
        String unit = m.group(2) == null ? "B" : m.group(2);
        long scale = switch (unit) {
            case "B" -> 1L;
            case "KB" -> 1_000L;
            case "MB" -> 1_000_000L;
            case "GB" -> 1_000_000_000L;
            case "TB" -> 1_000_000_000_000L;
            case "KIB" -> 1L << 10;
            case "MIB" -> 1L << 20;
            case "GIB" -> 1L << 30;
            case "TIB" -> 1L << 40;
            default -> throw new BadInputException(option + " " + text + ": unknown unit " + unit);
        };
        double bytes = Double.parseDouble(m.group(1)) * scale;
        if (bytes < 1 || bytes > Long.MAX_VALUE / 2) {
            throw new BadInputException(option + " " + text + ": must be between 1 byte and 4 EB");
        }
        return (long) bytes;
    }

    /** "13.81 GB" style, decimal units like HF. */
    public static String format(long bytes) {
        if (bytes < 1000) {
            return bytes + " B";
        }
        String[] units = {"KB", "MB", "GB", "TB", "PB"};
        double v = bytes;
        int u = -1;
        while (v >= 1000 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        return String.format(Locale.ROOT, "%.2f %s", v, units[u]);
    }
}
