package org.moescope.monitor;

import org.moescope.errors.BadInputException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Downstream scores per checkpoint from a CSV: a header row with a {@code checkpoint} column (the checkpoint's
 * directory name), optional {@code step} and {@code group} columns, and one or more numeric score columns. Rows
 * without a group (or with group "all") apply to every group.
 */
public record Scores(List<String> columns, Map<String, Map<String, double[]>> byGroup) {
    /** Score value of a column for a checkpoint and group; NaN when absent. */
    public double get(String column, String checkpoint, String group) {
        int c = columns.indexOf(column);
        Map<String, double[]> rows = byGroup.getOrDefault(group, byGroup.get("all"));
        if (rows == null || !rows.containsKey(checkpoint)) {
            rows = byGroup.get("all");
        }
        if (c < 0 || rows == null || !rows.containsKey(checkpoint)) return Double.NaN;
        return rows.get(checkpoint)[c];
    }

    public static Scores empty() {
        return new Scores(List.of(), Map.of());
    }

    public static Scores read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (NoSuchFileException e) {
            throw new BadInputException(file + ": no such file");
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read: " + e.getMessage());
        }
        if (lines.isEmpty()) throw new BadInputException(file + ": empty scores CSV");
        String[] header = lines.get(0).split(",", -1);
        int ckCol = -1, groupCol = -1;
        List<Integer> scoreCols = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (int i = 0; i < header.length; i++) {
            String h = header[i].strip();
            switch (h) {
                case "checkpoint" -> ckCol = i;
                case "group" -> groupCol = i;
                case "step" -> { }
                default -> {
                    scoreCols.add(i);
                    names.add(h);
                }
            }
        }
        if (ckCol < 0) throw new BadInputException(file + ":1: no \"checkpoint\" column");
        if (scoreCols.isEmpty()) throw new BadInputException(file + ":1: no score columns");
        Map<String, Map<String, double[]>> byGroup = new LinkedHashMap<>();
        for (int li = 1; li < lines.size(); li++) {
            if (lines.get(li).isBlank()) continue;
            String[] cells = lines.get(li).split(",", -1);
            if (cells.length != header.length) {
                throw new BadInputException(file + ":" + (li + 1) + ": " + cells.length + " cells, header has " + header.length);
            }
            String group = groupCol < 0 || cells[groupCol].isBlank() ? "all" : cells[groupCol].strip();
            double[] values = new double[scoreCols.size()];
            for (int j = 0; j < values.length; j++) {
                String cell = cells[scoreCols.get(j)].strip();
                try {
                    values[j] = cell.isEmpty() ? Double.NaN : Double.parseDouble(cell);
                } catch (NumberFormatException e) {
                    throw new BadInputException(file + ":" + (li + 1) + ": column \"" + names.get(j) + "\": \"" + cell
                            + "\" is not a number");
                }
            }
            byGroup.computeIfAbsent(group, g -> new LinkedHashMap<>()).put(cells[ckCol].strip(), values);
        }
        return new Scores(List.copyOf(names), byGroup);
    }
}
