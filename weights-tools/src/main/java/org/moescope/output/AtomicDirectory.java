package org.moescope.output;

import org.moescope.errors.BadInputException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Produces a whole output directory (a checkpoint) so that it appears complete or not at all: the body fills a
 * hidden temporary directory beside the target, which is renamed onto the target at the end. An existing non-empty
 * target is refused unless {@code force}; then it is moved aside, replaced, and deleted.
 */
public final class AtomicDirectory {
    private AtomicDirectory() {
    }

    @FunctionalInterface
    public interface Body {
        void fill(Path tempDir) throws IOException;
    }

    /** Fails early (before any work) when {@code target} cannot be written; {@link #write} checks again. */
    public static void checkWritable(Path target, boolean force, String option) {
        Path abs = target.toAbsolutePath().normalize();
        if (Files.exists(abs) && !Files.isDirectory(abs)) {
            throw new BadInputException(option + " " + target + ": exists and is not a directory");
        }
        if (!force && isNonEmptyDirectory(abs)) {
            throw new BadInputException(option + " " + target + ": exists and is not empty; use --force to replace it");
        }
        if (abs.getParent() == null) {
            throw new BadInputException(option + " " + target + ": cannot replace the root directory");
        }
    }

    public static void write(Path target, boolean force, String option, Body body) {
        checkWritable(target, force, option);
        Path abs = target.toAbsolutePath().normalize();
        Path parent = abs.getParent();
        Path tmp = null;
        try {
            Files.createDirectories(parent);
            tmp = Files.createTempDirectory(parent, "." + abs.getFileName() + ".tmp-");
            body.fill(tmp);
            install(tmp, abs, force, option);
            tmp = null;
        } catch (IOException e) {
            throw new BadInputException(target + ": cannot write: " + e.getMessage());
        } catch (UncheckedIOException e) {
            throw new BadInputException(target + ": cannot write: " + e.getCause().getMessage());
        } finally {
            if (tmp != null) {
                deleteTree(tmp);
            }
        }
    }

    private static void install(Path tmp, Path target, boolean force, String option) throws IOException {
        if (Files.isDirectory(target) && !isNonEmptyDirectory(target)) {
            Files.delete(target);
        }
        if (!Files.exists(target)) {
            move(tmp, target);
            return;
        }
        if (!force) {
            throw new BadInputException(option + " " + target + ": appeared while writing; use --force to replace it");
        }
        Path old = Files.createTempDirectory(target.getParent(), "." + target.getFileName() + ".old-");
        Files.delete(old);
        move(target, old);
        move(tmp, target);
        deleteTree(old);
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException | DirectoryNotEmptyException e) {
            Files.move(from, to);
        }
    }

    private static boolean isNonEmptyDirectory(Path p) {
        if (!Files.isDirectory(p)) {
            return false;
        }
        try (Stream<Path> s = Files.list(p)) {
            return s.findAny().isPresent();
        } catch (IOException e) {
            throw new BadInputException(p + ": cannot list: " + e.getMessage());
        }
    }

    /** Deletes a directory tree we created; best effort, never follows links out of it. */
    public static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | UncheckedIOException ignored) {
            // best effort: what is left is hidden and named after the target
        }
    }
}
