package org.moescope.trace;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.moescope.errors.BadInputException;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Reads trace samples from JSONL: one JSON object per line with {@code "ids": [int...]} or {@code "text": "..."},
 * and optional {@code "id"}, {@code "group"}, {@code "loss_start"}. Blank lines are skipped. Every error names the
 * file and line.
 */
public final class SampleReader {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SampleReader() {
    }

    /**
     * @param encoder turns "text" into ids; null when no tokenizer is available (then "text" lines are an error)
     */
    public static List<Sample> read(Path file, int vocabSize, Function<String, int[]> encoder) {
        List<Sample> out = new ArrayList<>();
        var decoder = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try (BufferedReader r = new BufferedReader(new InputStreamReader(Files.newInputStream(file), decoder))) {
            String line;
            int lineNo = 0;
            while ((line = r.readLine()) != null) {
                lineNo++;
                if (line.isBlank()) continue;
                out.add(parse(line, file + ":" + lineNo, vocabSize, encoder));
            }
        } catch (NoSuchFileException e) {
            throw new BadInputException(file + ": no such file");
        } catch (CharacterCodingException e) {
            throw new BadInputException(file + ": not valid UTF-8");
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read: " + e.getMessage());
        }
        if (out.isEmpty()) {
            throw new BadInputException(file + ": no samples");
        }
        return out;
    }

    static Sample parse(String line, String where, int vocabSize, Function<String, int[]> encoder) {
        JsonNode n;
        try {
            n = JSON.readTree(line);
        } catch (IOException e) {
            throw new BadInputException(where + ": not valid JSON");
        }
        if (n == null || !n.isObject()) {
            throw new BadInputException(where + ": expected a JSON object");
        }
        int[] ids;
        JsonNode idsNode = n.get("ids");
        JsonNode text = n.get("text");
        if (idsNode != null && text != null) {
            throw new BadInputException(where + ": give \"ids\" or \"text\", not both");
        }
        if (idsNode != null) {
            if (!idsNode.isArray()) {
                throw new BadInputException(where + ": \"ids\" must be an array of integers");
            }
            ids = new int[idsNode.size()];
            for (int i = 0; i < ids.length; i++) {
                JsonNode v = idsNode.get(i);
                if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                    throw new BadInputException(where + ": \"ids\"[" + i + "] is not an integer");
                }
                ids[i] = v.intValue();
            }
        } else if (text != null) {
            if (!text.isTextual()) {
                throw new BadInputException(where + ": \"text\" must be a string");
            }
            if (encoder == null) {
                throw new BadInputException(where + ": \"text\" needs a tokenizer (the model directory has no "
                        + "tokenizer.json; give --tokenizer)");
            }
            ids = encoder.apply(text.textValue());
        } else {
            throw new BadInputException(where + ": missing \"ids\" or \"text\"");
        }
        if (ids.length == 0) {
            throw new BadInputException(where + ": empty sample");
        }
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabSize) {
                throw new BadInputException(where + ": token id " + ids[i] + " is out of range [0, " + vocabSize + ")");
            }
        }
        int lossStart = 1;
        JsonNode ls = n.get("loss_start");
        if (ls != null && !ls.isNull()) {
            if (!ls.isIntegralNumber() || ls.intValue() < 1 || ls.intValue() >= Math.max(2, ids.length)) {
                throw new BadInputException(where + ": \"loss_start\" must be an integer in [1, " + (ids.length - 1) + "]");
            }
            lossStart = ls.intValue();
        }
        return new Sample(label(n, "id", where), label(n, "group", where), ids, lossStart);
    }

    private static String label(JsonNode n, String field, String where) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isTextual() && !v.isNumber()) {
            throw new BadInputException(where + ": \"" + field + "\" must be a string or a number");
        }
        return v.asText();
    }
}
