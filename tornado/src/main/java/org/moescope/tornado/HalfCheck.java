package org.moescope.tornado;

import org.moescope.gpu.DeviceKernels;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.annotations.Parallel;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;

/**
 * Widens every BF16 and F16 bit pattern on the device and compares with the JVM: the device compilers have
 * mis-lowered short arithmetic before. Prints the mismatches; exits 1 if any.
 */
public final class HalfCheck {
    private HalfCheck() {
    }

    static void widen(short[] bits, int dtype, float[] table, float[] out) {
        for (@Parallel int i = 0; i < bits.length; i++) {
            out[i] = DeviceKernels.half(bits[i], dtype, table);
        }
    }

    public static void main(String[] args) throws Exception {
        short[] bits = new short[65536];
        for (int i = 0; i < bits.length; i++) bits[i] = (short) i;
        int bad = 0;
        for (int dtype : new int[] {DeviceKernels.BF16, DeviceKernels.F16}) {
            float[] table = DeviceKernels.exponentTable(dtype);
            float[] out = new float[bits.length];
            TaskGraph g = new TaskGraph("half" + dtype)
                    .transferToDevice(DataTransferMode.FIRST_EXECUTION, bits, table)
                    .task("widen", HalfCheck::widen, bits, dtype, table, out)
                    .transferToHost(DataTransferMode.EVERY_EXECUTION, out);
            try (TornadoExecutionPlan p = new TornadoExecutionPlan(g.snapshot())) {
                p.execute();
            }
            int shown = 0;
            for (int i = 0; i < bits.length; i++) {
                float ref = DeviceKernels.half(bits[i], dtype, table);
                if (Float.isFinite(ref) && ref != out[i]) {
                    bad++;
                    if (shown++ < 8) {
                        System.out.printf("dtype %d bits 0x%04x: jvm %g device %g%n", dtype, i, ref, out[i]);
                    }
                }
            }
        }
        System.out.println("half widening mismatches: " + bad);
        System.exit(bad == 0 ? 0 : 1);
    }
}
