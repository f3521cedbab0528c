package org.moescope.monitor;

import org.moescope.checkpoint.Checkpoint;
import org.moescope.errors.BadInputException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The ordered checkpoints of a training run. Each is a checkpoint directory or a GGUF file; a directory that holds no
 * config.json but checkpoint subdirectories or GGUF files stands for all of them, in name order. A checkpoint's name is
 * its directory's, or its file's without ".gguf" (the names of its output files). The training step is the last
 * number in the name ("step-001200" → 1200) when every name has one and they increase in the given order, else the
 * position in the list.
 */
public record Checkpoints(List<Entry> entries) {
    public record Entry(String name, long step, Path dir) {
    }

    private static final Pattern LAST_NUMBER = Pattern.compile("(\\d+)(?!.*\\d)");

    public static Checkpoints resolve(List<Path> given) {
        List<Path> dirs = new ArrayList<>();
        for (Path p : given) {
            Checkpoint.checkModelPath(p); // no such path, a file that is not GGUF, a directory named *.gguf
            if (Files.isRegularFile(p.resolve("config.json")) || Checkpoint.isGguf(p)) {
                dirs.add(p);
            } else if (Files.isDirectory(p)) {
                try (Stream<Path> children = Files.list(p)) {
                    List<Path> found = children.filter(c -> Files.isRegularFile(c.resolve("config.json"))
                            || Checkpoint.isGguf(c)).sorted().toList();
                    if (found.isEmpty()) {
                        throw new BadInputException(p + ": neither a checkpoint (no config.json) nor a directory of "
                                + "checkpoints or GGUF files");
                    }
                    dirs.addAll(found);
                } catch (IOException e) {
                    throw new BadInputException(p + ": cannot list: " + e.getMessage());
                }
            } else {
                throw new BadInputException(p + ": no such checkpoint directory");
            }
        }
        if (dirs.size() < 2) {
            throw new BadInputException("monitor needs at least 2 checkpoints, got " + dirs.size());
        }
        List<Entry> entries = new ArrayList<>();
        Set<String> names = new HashSet<>();
        // Steps come from the directory names when every name carries a number and they increase in the given order.
        boolean allNumbered = dirs.stream().allMatch(d -> LAST_NUMBER.matcher(name(d)).find());
        if (allNumbered) {
            long previous = Long.MIN_VALUE;
            for (Path d : dirs) {
                Matcher m = LAST_NUMBER.matcher(name(d));
                m.find();
                long step = Long.parseLong(m.group(1));
                if (step <= previous) {
                    allNumbered = false;
                    break;
                }
                previous = step;
            }
        }
        for (int i = 0; i < dirs.size(); i++) {
            Path d = dirs.get(i);
            String name = name(d);
            if (!names.add(name)) {
                throw new BadInputException(d + ": two checkpoints share the name '" + name + "'");
            }
            long step = i;
            if (allNumbered) {
                Matcher m = LAST_NUMBER.matcher(name);
                m.find();
                step = Long.parseLong(m.group(1));
            }
            entries.add(new Entry(name, step, d));
        }
        return new Checkpoints(List.copyOf(entries));
    }

    /** A checkpoint's name: its directory's, or its GGUF file's without the extension. */
    private static String name(Path checkpoint) {
        String n = checkpoint.getFileName().toString();
        return Checkpoint.isGguf(checkpoint) && n.toLowerCase(java.util.Locale.ROOT).endsWith(".gguf")
                ? n.substring(0, n.length() - 5) : n;
    }
}
