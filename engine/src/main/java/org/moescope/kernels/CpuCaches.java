package org.moescope.kernels;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The data cache sizes of the CPU the kernels run on, read once at start-up, so that blocking adapts to the machine
 * instead of to the one it was tuned on (the tiled products keep a block of widened weight rows in L2: 512 KB per
 * core on Zen 3, 1 MB on Zen 4 and 5, 2 MB on recent Xeons).
 *
 * <p>Where from: Linux's {@code /sys/devices/system/cpu/cpu0/cache/index*} ({@code level}, {@code type},
 * {@code size} as "48K"); where a VM hides it, {@code /proc/cpuinfo}'s "cache size" on AMD CPUs, which is the L2 per
 * core there (on Intel it is the L3, so it is not used); else unknown (0).
 */
record CpuCaches(long l1d, long l2) {
    static final CpuCaches DETECTED = detect(Path.of("/sys/devices/system/cpu/cpu0/cache"), Path.of("/proc/cpuinfo"));

    static CpuCaches detect(Path sysCache, Path cpuinfo) {
        long l1d = 0, l2 = 0;
        for (int i = 0; i < 8; i++) {
            Path dir = sysCache.resolve("index" + i);
            try {
                String type = Files.readString(dir.resolve("type")).trim();
                int level = Integer.parseInt(Files.readString(dir.resolve("level")).trim());
                long size = parseSize(Files.readString(dir.resolve("size")).trim());
                if (type.equals("Instruction")) continue;
                if (level == 1 && size > 0) l1d = size;
                if (level == 2 && size > 0) l2 = size;
            } catch (IOException | RuntimeException e) {
                // absent or unreadable: try the next index, then /proc/cpuinfo
            }
        }
        if (l2 == 0) l2 = amdL2(cpuinfo);
        return new CpuCaches(l1d, l2);
    }

    /** "48K", "1024K", "2M", "32768" (bytes) → bytes; -1 when not a size. */
    static long parseSize(String s) {
        try {
            String u = s.toUpperCase(Locale.ROOT).replace("B", "").trim();
            if (u.endsWith("K")) return Long.parseLong(u.substring(0, u.length() - 1).trim()) << 10;
            if (u.endsWith("M")) return Long.parseLong(u.substring(0, u.length() - 1).trim()) << 20;
            return Long.parseLong(u);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The "cache size" line of /proc/cpuinfo when the vendor is AMD (its L2 per core); 0 otherwise. */
    static long amdL2(Path cpuinfo) {
        try {
            boolean amd = false;
            for (String line : Files.readAllLines(cpuinfo)) {
                int colon = line.indexOf(':');
                if (colon < 0) continue;
                String key = line.substring(0, colon).trim(), value = line.substring(colon + 1).trim();
                if (key.equals("vendor_id")) amd = value.equals("AuthenticAMD");
                if (key.equals("cache size")) {
                    long size = parseSize(value);
                    return amd && size > 0 ? size : 0;
                }
            }
        } catch (IOException | RuntimeException e) {
            // no /proc/cpuinfo (not Linux): unknown
        }
        return 0;
    }
}
