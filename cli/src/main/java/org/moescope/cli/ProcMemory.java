package org.moescope.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Memory of this process from /proc/self/status (Linux): VmHWM is the peak resident set; RssAnon is heap and native
 * memory; RssFile is the part of the mapped checkpoint currently in RAM. Empty where /proc is absent.
 */
final class ProcMemory {
    private ProcMemory() {
    }

    static Map<String, Long> read() {
        Map<String, Long> m = new LinkedHashMap<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                String[] parts = line.split("\\s+");
                if (parts.length == 3 && parts[2].equals("kB")) {
                    m.put(parts[0].replace(":", ""), Long.parseLong(parts[1]) * 1024);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux: report nothing rather than a wrong number
        }
        return m;
    }
}
