package org.moescope.weights;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ZigguratTest {
    /** Kolmogorov–Smirnov against the normal CDF, plus moments and both tails, on 10^6 draws. */
    @Test
    void drawsAreStandardNormal() {
        int n = 1_000_000;
        double[] x = new double[n];
        SplittableRandom rng = new SplittableRandom(42);
        double sum = 0, sum2 = 0, sum4 = 0;
        int beyond3 = 0, beyondTail = 0;
        for (int i = 0; i < n; i++) {
            x[i] = Ziggurat.next(rng);
            sum += x[i];
            sum2 += x[i] * x[i];
            sum4 += x[i] * x[i] * x[i] * x[i];
            if (Math.abs(x[i]) > 3) beyond3++;
            if (Math.abs(x[i]) > 3.442619855899) beyondTail++;
        }
        assertEquals(0, sum / n, 0.005);
        assertEquals(1, sum2 / n, 0.005);
        assertEquals(3, sum4 / n, 0.05); // kurtosis of a normal
        assertEquals(2 * (1 - phi(3)) * n, beyond3, 5 * Math.sqrt(2 * (1 - phi(3)) * n));
        assertEquals(2 * (1 - phi(3.442619855899)) * n, beyondTail, 5 * Math.sqrt(2 * (1 - phi(3.442619855899)) * n));
        Arrays.sort(x);
        double d = 0;
        for (int i = 0; i < n; i++) {
            double f = phi(x[i]);
            d = Math.max(d, Math.max(Math.abs(f - (double) i / n), Math.abs((double) (i + 1) / n - f)));
        }
        assertTrue(d < 1.63 / Math.sqrt(n), "KS statistic " + d); // 1% critical value
    }

    @Test
    void sameSeedSameStream() {
        SplittableRandom a = new SplittableRandom(7);
        SplittableRandom b = new SplittableRandom(7);
        for (int i = 0; i < 1000; i++) {
            assertEquals(Ziggurat.next(a), Ziggurat.next(b));
        }
    }

    /** Normal CDF via erfc (W. J. Cody's rational approximations are overkill here; 1e-7 is plenty for KS at 1e-3). */
    static double phi(double x) {
        return 0.5 * erfc(-x / Math.sqrt(2));
    }

    /** Numerical Recipes' erfc with fractional error below 1.2e-7. */
    static double erfc(double x) {
        double z = Math.abs(x);
        double t = 1 / (1 + 0.5 * z);
        double r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
                + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }
}
