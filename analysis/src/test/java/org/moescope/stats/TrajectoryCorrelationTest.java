package org.moescope.stats;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class TrajectoryCorrelationTest {
    @Test
    void riseStartIsTheLastCheckpointNearTheFloor() {
        // min 0.1, max 0.9, level 0.18: the last score <= 0.18 is at index 3 (the dip back to the floor).
        assertEquals(3, TrajectoryCorrelation.riseStart(new double[]{0.1, 0.15, 0.5, 0.12, 0.6, 0.9}));
        // A steady rise starts at once; a falling score at its end.
        assertEquals(0, TrajectoryCorrelation.riseStart(new double[]{0.1, 0.2, 0.3, 0.4}));
        assertEquals(3, TrajectoryCorrelation.riseStart(new double[]{0.4, 0.3, 0.2, 0.1}));
        assertEquals(2, TrajectoryCorrelation.riseStart(new double[]{0.5, Double.NaN, 0.1, Double.NaN, 0.9}));
        assertEquals(0, TrajectoryCorrelation.riseStart(new double[]{Double.NaN, Double.NaN}));
        assertEquals(1, TrajectoryCorrelation.riseStart(new double[]{0.1, 0.5, 1.0}, 0.5), "fraction 0.5: level 0.55");
    }

    @Test
    void correlatesOverTheWindowWithBaselines() {
        double[] score = {0.2, 0.2, 0.2, 0.3, 0.5, 0.6, 0.8};             // rise starts at index 2
        double[] distance = {500, 540, 560, 550, 530, 520, 510};         // falls while the score rises
        double[] train = {3.0, 2.0, 1.6, 1.5, 1.5, 1.4, 1.45};
        double[] valid = {3.1, 2.5, 2.4, 2.4, 2.4, 2.4, 2.4};
        List<TrajectoryCorrelation.Series> series = new java.util.ArrayList<>();
        series.add(new TrajectoryCorrelation.Series("levenshtein_char", distance));
        series.addAll(TrajectoryCorrelation.baselines(train, 3, valid));
        List<TrajectoryCorrelation.Result> r = TrajectoryCorrelation.correlate(score, series, -1);
        assertEquals(List.of("levenshtein_char", "training_loss", "training_loss_ma3", "validation_loss"),
                r.stream().map(TrajectoryCorrelation.Result::metric).toList());
        for (TrajectoryCorrelation.Result x : r) {
            assertEquals(2, x.from());
            assertEquals(5, x.points());
        }
        double[] windowScore = {0.2, 0.3, 0.5, 0.6, 0.8};
        assertEquals(-1.0, r.get(0).spearman(), 1e-12);
        assertEquals(Correlation.pearson(new double[]{560, 550, 530, 520, 510}, windowScore), r.get(0).pearson(), 1e-15);
        double[] ma = MovingAverage.trailing(train, 3);
        assertEquals(Correlation.pearson(java.util.Arrays.copyOfRange(ma, 2, 7), windowScore), r.get(2).pearson(), 1e-15);
        assertTrue(Double.isNaN(r.get(3).pearson()), "constant validation loss over the window");
        assertTrue(Double.isNaN(r.get(3).spearman()));
        // An explicit start overrides the rise detection.
        assertEquals(0, TrajectoryCorrelation.correlate(score, series, 0).get(0).from());
        assertEquals(2, TrajectoryCorrelation.baselines(train, 3, null).size());
        assertThrows(IllegalArgumentException.class, () -> TrajectoryCorrelation.correlate(score, series, 7));
    }

    @Test
    void movingAverageIsTrailingWithPartialStart() {
        assertArrayEquals(new double[]{1, 1.5, 2, 3, 4}, MovingAverage.trailing(new double[]{1, 2, 3, 4, 5}, 3), 1e-12);
        assertArrayEquals(new double[]{1, 2}, MovingAverage.trailing(new double[]{1, 2}, 1), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> MovingAverage.trailing(new double[]{1}, 0));
    }

    @Test
    void ranksAndNaNPolicy() {
        assertArrayEquals(new double[]{2.5, 1, 2.5, 4}, Ranks.average(new double[]{3, 1, 3, 7}), 0);
        assertArrayEquals(new double[]{1.5, 1.5}, Ranks.average(new double[]{-0.0, 0.0}), 0);
        assertTrue(Double.isNaN(Correlation.spearman(new double[]{1, Double.NaN, 3}, new double[]{1, 2, 3})));
        assertTrue(Double.isNaN(Correlation.pearson(new double[]{1}, new double[]{1})));
        assertEquals(-1.0, Correlation.pearson(new double[]{1, 2}, new double[]{2, 1}), 0);
    }
}
