package org.moescope.weights;

import org.moescope.errors.BadInputException;
import org.moescope.output.AtomicFiles;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A SHA-256 manifest of a checkpoint directory in GNU {@code sha256sum} format, so {@code sha256sum -c SHA256SUMS}
 * checks it too: one line per file, 64 lowercase hex digits, two spaces (or space and '*'), the path relative to the
 * directory. Blank lines and lines starting with '#' are ignored. Paths must stay inside the directory.
 */
public final class Manifest {
    public static final String DEFAULT_NAME = "SHA256SUMS";
    private static final long MAX_MANIFEST_BYTES = 1 << 20;
    private static final Pattern LINE = Pattern.compile("([0-9a-fA-F]{64}) [ *](.+)");

    private Manifest() {
    }

    public record Entry(String sha256, String path) {
    }

    /** A file whose hash was checked: {@code actual} is null when the file is missing. */
    public record Check(String path, String expected, String actual) {
        public boolean ok() {
            return expected.equalsIgnoreCase(actual == null ? "" : actual);
        }
    }

    public static List<Entry> parse(Path manifest) {
        byte[] bytes;
        try {
            if (Files.size(manifest) > MAX_MANIFEST_BYTES) {
                throw new BadInputException(manifest + ": larger than 1 MB; not a manifest");
            }
            bytes = Files.readAllBytes(manifest);
        } catch (NoSuchFileException e) {
            throw new BadInputException(manifest + ": no such file");
        } catch (IOException e) {
            throw new BadInputException(manifest + ": cannot read: " + e.getMessage());
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new BadInputException(manifest + ": not UTF-8 text");
        }
        List<Entry> entries = new ArrayList<>();
        int lineNo = 0;
        for (String line : text.split("\n", -1)) {
            lineNo++;
            String l = line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
            if (l.isBlank() || l.startsWith("#")) {
                continue;
            }
            Matcher m = LINE.matcher(l);
            if (!m.matches()) {
                throw new BadInputException(manifest + ": line " + lineNo
                        + ": expected '<64 hex digits>  <file>' (sha256sum format)");
            }
            String rel = m.group(2);
            Path p = Path.of(rel).normalize();
            if (p.isAbsolute() || p.startsWith("..") || rel.contains("\\") || p.toString().isEmpty()) {
                throw new BadInputException(manifest + ": line " + lineNo + ": path '" + rel
                        + "' must be relative to the checkpoint directory and stay inside it");
            }
            entries.add(new Entry(m.group(1).toLowerCase(java.util.Locale.ROOT), rel));
        }
        if (entries.isEmpty()) {
            throw new BadInputException(manifest + ": no entries");
        }
        return entries;
    }

    /** Hashes every file the manifest names (relative to {@code dir}). */
    public static List<Check> check(Path dir, List<Entry> entries) {
        List<Check> checks = new ArrayList<>();
        for (Entry e : entries) {
            Path f = dir.resolve(e.path());
            checks.add(new Check(e.path(), e.sha256(), Files.isRegularFile(f) ? sha256(f) : null));
        }
        return checks;
    }

    /** Writes {@code dir/SHA256SUMS} covering every regular, non-hidden file of the directory, by name. */
    public static Path write(Path dir) {
        StringBuilder sb = new StringBuilder();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.sorted().toList()) {
                String name = f.getFileName().toString();
                if (name.equals(DEFAULT_NAME) || name.startsWith(".") || !Files.isRegularFile(f)) {
                    continue;
                }
                sb.append(sha256(f)).append("  ").append(name).append('\n');
            }
        } catch (IOException e) {
            throw new BadInputException(dir + ": cannot list: " + e.getMessage());
        }
        Path out = dir.resolve(DEFAULT_NAME);
        AtomicFiles.writeString(out, sb.toString());
        return out;
    }

    public static String sha256(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
            while (ch.read(buf.clear()) >= 0) {
                md.update(buf.flip());
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read: " + e.getMessage());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
