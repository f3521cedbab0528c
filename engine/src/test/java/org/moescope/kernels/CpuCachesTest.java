package org.moescope.kernels;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Cache sizes from a sysfs tree, from /proc/cpuinfo where sysfs has none, and the tiled block size they give. */
class CpuCachesTest {
    static void index(Path cache, int i, int level, String type, String size) throws IOException {
        Path dir = Files.createDirectories(cache.resolve("index" + i));
        Files.writeString(dir.resolve("level"), level + "\n");
        Files.writeString(dir.resolve("type"), type + "\n");
        Files.writeString(dir.resolve("size"), size + "\n");
    }

    @Test
    void readsSysfsLevelsSkippingInstructionCaches(@TempDir Path dir) throws IOException {
        Path cache = dir.resolve("cache");
        index(cache, 0, 1, "Data", "48K");
        index(cache, 1, 1, "Instruction", "32K");
        index(cache, 2, 2, "Unified", "2048K");
        index(cache, 3, 3, "Unified", "32M");
        assertEquals(new CpuCaches(48 << 10, 2 << 20), CpuCaches.detect(cache, dir.resolve("none")));
    }

    @Test
    void fallsBackToCpuinfoOnAmdOnly(@TempDir Path dir) throws IOException {
        Path info = dir.resolve("cpuinfo");
        Files.writeString(info, "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\ncache size\t: 1024 KB\n");
        assertEquals(new CpuCaches(0, 1 << 20), CpuCaches.detect(dir.resolve("none"), info));
        Files.writeString(info, "processor\t: 0\nvendor_id\t: GenuineIntel\ncache size\t: 36864 KB\n"); // the L3 there
        assertEquals(new CpuCaches(0, 0), CpuCaches.detect(dir.resolve("none"), info));
        Files.writeString(info, "vendor_id\t: AuthenticAMD\ncache size\t: lots\n");
        assertEquals(new CpuCaches(0, 0), CpuCaches.detect(dir.resolve("none"), info));
        assertEquals(new CpuCaches(0, 0), CpuCaches.detect(dir.resolve("none"), dir.resolve("none")));
    }

    @Test
    void blockIsThreeEighthsOfL2WithinBounds() {
        assertEquals(192 << 10, VectorKernels.blockBytes(0)); // unknown: the size tuned on a 512 KB L2
        assertEquals(192 << 10, VectorKernels.blockBytes(512 << 10));
        assertEquals(96 << 10, VectorKernels.blockBytes(256 << 10));
        assertEquals(192 << 10, VectorKernels.blockBytes(1 << 20)); // larger blocks measured slower (see BLOCK_BYTES)
        assertEquals(64 << 10, VectorKernels.blockBytes(128 << 10));
        assertEquals(VectorKernels.blockBytes(CpuCaches.DETECTED.l2()), VectorKernels.BLOCK_BYTES);
    }
}
