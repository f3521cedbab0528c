package org.moescope.tokenizer;

import org.moescope.errors.BadInputException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Reads a text file as strict UTF-8: ill-formed bytes are bad input (naming the byte offset), never U+FFFD. */
public final class TextFile {
    private TextFile() {
    }

    public static String readUtf8(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new BadInputException(file + ": no such file");
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        return decodeUtf8(bytes, file.toString());
    }

    /** Decodes strict UTF-8; {@code source} names the bytes in the error message. */
    public static String decodeUtf8(byte[] bytes, String source) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult result = decoder.decode(in, out, true);
        if (result.isError()) {
            throw new BadInputException(String.format("%s: invalid UTF-8 at byte %d (0x%02X)", source, in.position(),
                    bytes[in.position()] & 0xFF));
        }
        result = decoder.flush(out);
        if (result.isError()) {
            throw new BadInputException(source + ": invalid UTF-8 at the end of the input");
        }
        return out.flip().toString();
    }
}
