package org.moescope.explore;

import org.moescope.output.AtomicFiles;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;

/**
 * Writes the explorer as one self-contained HTML file: the template, style and script (resources next to this class)
 * with the data inlined, streamed to disk so that a page of tens of megabytes never exists twice in memory.
 */
public final class ExplorerPage {
    private static final String BASE = "/org/moescope/explore/";

    private ExplorerPage() {
    }

    /** Writes {@code file} atomically. */
    public static void write(Path file, ExplorerBuilder.Content content, String title) {
        String template = resource("explorer.html");
        String css = resource("explorer.css");
        String js = resource("explorer.js");
        AtomicFiles.write(file, ch -> {
            Writer w = new BufferedWriter(Channels.newWriter(ch, StandardCharsets.UTF_8), 1 << 16);
            String[] parts = template.split("@", -1);
            // The template alternates text and @NAME@ markers: odd pieces are marker names.
            for (int i = 0; i < parts.length; i++) {
                if (i % 2 == 0) {
                    w.write(parts[i]);
                    continue;
                }
                switch (parts[i]) {
                    case "TITLE" -> w.write(escape(title));
                    case "CSS" -> w.write(css);
                    case "JS" -> w.write(js);
                    case "DATA" -> w.write(scriptSafeJson(content.dataJson()));
                    case "DETAILS" -> writeBase64(w, content.details());
                    default -> throw new IllegalStateException("explorer.html: unknown marker @" + parts[i] + "@");
                }
            }
            w.flush();
        });
    }

    /**
     * JSON inside a script element must not contain "&lt;/script" or "&lt;!--"; '&lt;' can only occur inside JSON
     * strings, where the escape {@code \u003c} means the same character.
     */
    static String scriptSafeJson(String json) {
        return json.replace("<", "\\u003c");
    }

    private static void writeBase64(Writer w, byte[] data) throws IOException {
        // Chunks of a multiple of 3 bytes encode to base64 that concatenates to the encoding of the whole.
        int chunk = 3 << 16;
        Base64.Encoder enc = Base64.getEncoder();
        for (int off = 0; off < data.length; off += chunk) {
            int n = Math.min(chunk, data.length - off);
            byte[] part = java.util.Arrays.copyOfRange(data, off, off + n);
            w.write(new String(enc.encode(part), StandardCharsets.ISO_8859_1));
        }
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    private static String resource(String name) {
        try (InputStream in = ExplorerPage.class.getResourceAsStream(BASE + name)) {
            if (in == null) throw new IllegalStateException("missing resource " + BASE + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
