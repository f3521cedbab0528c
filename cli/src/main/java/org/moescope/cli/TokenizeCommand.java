package org.moescope.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.moescope.errors.BadInputException;
import org.moescope.tokenizer.TextFile;
import org.moescope.tokenizer.Tokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code moescope tokenize}: text to token ids (or token strings) and, with --decode, ids back to text. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = {"Encodes each TEXT (and each --file) with a HF tokenizer.json and prints its token ids as one "
                + "JSON array per line; --tokens prints the token strings instead. With --decode, each argument is "
                + "a JSON array of ids and the decoded text is printed."})
public final class TokenizeCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    static final class Source {
        @Option(names = "--tokenizer", paramLabel = "FILE", description = "a tokenizer.json, or a .gguf file (its tokenizer.ggml.* vocabulary)")
        Path tokenizer;

        @Option(names = "--model", paramLabel = "DIR|FILE.gguf", description = "a model directory (uses DIR/tokenizer.json) or a .gguf file")
        Path model;
    }

    @Option(names = "--decode", description = "arguments are JSON arrays of token ids; print their text")
    boolean decode;

    @Option(names = "--tokens", description = "print token strings (a JSON array of strings) instead of ids")
    boolean tokens;

    @Option(names = "--skip-special", description = "with --decode: leave out special tokens (e.g. <|endoftext|>)")
    boolean skipSpecial;

    @Option(names = "--file", paramLabel = "FILE", description = "also encode the whole content of FILE "
            + "(UTF-8; repeatable); safer than arguments for non-ASCII text, whose decoding depends on the locale")
    List<Path> files = new ArrayList<>();

    @Parameters(paramLabel = "TEXT", arity = "0..*", description = "texts to encode (or, with --decode, id arrays)")
    List<String> inputs = new ArrayList<>();

    @Override
    public Integer call() throws JsonProcessingException {
        if (decode && tokens) {
            throw new BadInputException("tokenize: --decode and --tokens do not go together");
        }
        if (decode && !files.isEmpty()) {
            throw new BadInputException("tokenize: --decode takes id arrays as arguments, not --file");
        }
        if (skipSpecial && !decode) {
            throw new BadInputException("tokenize: --skip-special goes with --decode");
        }
        if (inputs.isEmpty() && files.isEmpty()) {
            throw new BadInputException("tokenize: nothing to do; give TEXT arguments or --file FILE");
        }
        if (source.model != null) org.moescope.checkpoint.Checkpoint.checkModelPath(source.model);
        Tokenizer tok = source.tokenizer != null ? Tokenizer.load(source.tokenizer)
                : Tokenizer.forModelDirectory(source.model);
        PrintWriter out = spec.commandLine().getOut();
        if (decode) {
            for (int i = 0; i < inputs.size(); i++) {
                out.println(tok.decode(ids(inputs.get(i), i + 1), skipSpecial));
            }
        } else {
            List<String> texts = new ArrayList<>(inputs);
            for (Path f : files) {
                texts.add(TextFile.readUtf8(f));
            }
            for (String text : texts) {
                out.println(tokens ? JSON.writeValueAsString(tok.encode(text).tokens())
                        : JSON.writeValueAsString(tok.encodeIds(text)));
            }
        }
        out.flush();
        return 0;
    }

    private static int[] ids(String arg, int position) {
        JsonNode node;
        try {
            node = JSON.readTree(arg);
        } catch (JsonProcessingException e) {
            node = null;
        }
        if (node == null || !node.isArray()) {
            throw new BadInputException("tokenize --decode: argument " + position + " is not a JSON array of token ids");
        }
        int[] ids = new int[node.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw new BadInputException("tokenize --decode: argument " + position + ", element " + i + " ("
                        + v + ") is not a token id");
            }
            ids[i] = v.asInt();
        }
        return ids;
    }
}
