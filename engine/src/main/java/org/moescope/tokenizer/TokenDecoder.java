package org.moescope.tokenizer;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * tokenizer.json's decoder, run on token strings as they come (HF's {@code decode_chain}, streamed). HF runs each
 * step on the whole token list; every supported step looks at one token, or at a run of byte tokens, or at the
 * start of the text, so feeding tokens one at a time gives the same text, and it is held back only where HF's
 * result still depends on tokens to come: an unfinished UTF-8 character (ByteLevel), a run of {@code <0xNN>}
 * tokens (ByteFallback turns the whole run into text, or into one U+FFFD per byte if the run is not valid UTF-8).
 *
 * <p>Steps: token steps ({@code Replace} with a literal pattern, {@code ByteFallback}, {@code Metaspace},
 * {@code Strip}) in any order, then at most one joining step ({@code Fuse}, or {@code ByteLevel}, which maps
 * token characters back to bytes and decodes them as UTF-8, lossily), then only {@code Strip}s of the joined
 * text (with {@code stop} 0) or further {@code Fuse}s (no-ops). Without a joining step the tokens are concatenated
 * (HF's final join); without a decoder at all they are joined with spaces, as HF does.
 */
final class TokenDecoder {
    sealed interface Step permits Replace, ByteFallback, Metaspace, Strip, Fuse, ByteLevelJoin {
    }

    /** Replaces every occurrence of a literal {@code pattern} in each token. */
    record Replace(String pattern, String content) implements Step {
    }

    /** Turns runs of {@code <0xNN>} tokens into the text of their bytes. */
    record ByteFallback() implements Step {
    }

    /**
     * Replacement characters become spaces, except in the first token, where they are dropped unless the prepend
     * scheme is {@code never} ({@code stripFirst} false).
     */
    record Metaspace(char replacement, boolean stripFirst) implements Step {
    }

    /** Removes up to {@code start} leading {@code content} characters (of each token, or of the joined text). */
    record Strip(char content, int start) implements Step {
    }

    /** Joins the tokens into one. */
    record Fuse() implements Step {
    }

    /** ByteLevel: token characters → bytes (GPT-2's table; a token with other characters → its UTF-8) → text. */
    record ByteLevelJoin() implements Step {
    }

    /** How the token steps' output becomes text. */
    private enum Join { CONCAT, BYTE_LEVEL, SPACE }

    private final List<Step> tokenSteps;
    private final Join join;
    private final List<Strip> textSteps;

    /** No decoder in tokenizer.json: HF joins the token strings with spaces. */
    static final TokenDecoder NONE = new TokenDecoder(List.of(), Join.SPACE, List.of());

    private TokenDecoder(List<Step> tokenSteps, Join join, List<Strip> textSteps) {
        this.tokenSteps = List.copyOf(tokenSteps);
        this.join = join;
        this.textSteps = List.copyOf(textSteps);
    }

    /**
     * The decoder of a (flattened) sequence of steps; {@link IllegalArgumentException} names the index of a step
     * that cannot follow a joining step.
     */
    static TokenDecoder of(List<Step> steps) {
        List<Step> tokenSteps = new ArrayList<>();
        List<Strip> textSteps = new ArrayList<>();
        Join join = null;
        for (int i = 0; i < steps.size(); i++) {
            Step step = steps.get(i);
            if (join == null) {
                switch (step) {
                    case Fuse f -> join = Join.CONCAT;
                    case ByteLevelJoin b -> join = Join.BYTE_LEVEL;
                    default -> tokenSteps.add(step);
                }
            } else if (step instanceof Strip strip) {
                textSteps.add(strip);
            } else if (!(step instanceof Fuse)) {
                throw new IllegalArgumentException(String.valueOf(i));
            }
        }
        return new TokenDecoder(tokenSteps, join == null ? Join.CONCAT : join, textSteps);
    }

    /** A decoding in progress that appends its text to {@code out}. Not thread-safe. */
    State start(StringBuilder out) {
        return new State(out);
    }

    final class State {
        private final Stage head;

        private State(StringBuilder out) {
            TextStage text = new Output(out);
            for (int i = textSteps.size() - 1; i >= 0; i--) {
                text = new TextStrip(textSteps.get(i), text);
            }
            Stage stage = switch (join) {
                case CONCAT -> new Concat(text, false);
                case SPACE -> new Concat(text, true);
                case BYTE_LEVEL -> new ByteLevelStage(text);
            };
            for (int i = tokenSteps.size() - 1; i >= 0; i--) {
                stage = switch (tokenSteps.get(i)) {
                    case Replace r -> new ReplaceStage(r, stage);
                    case ByteFallback b -> new ByteFallbackStage(stage);
                    case Metaspace m -> new MetaspaceStage(m, stage);
                    case Strip s -> new TokenStrip(s, stage);
                    case Fuse f -> throw new IllegalStateException();
                    case ByteLevelJoin b -> throw new IllegalStateException();
                };
            }
            head = stage;
        }

        /** Feeds one token string. */
        void token(String token) {
            head.token(token);
        }

        /** Ends the input: whatever was held back is decoded. */
        void end() {
            head.end();
        }

        /** Whether text is held back until more tokens come (an unfinished character or byte run). */
        boolean holding() {
            return head.holding();
        }
    }

    private interface Stage {
        void token(String token);

        void end();

        boolean holding();
    }

    private interface TextStage {
        void text(CharSequence s);
    }

    private static final class ReplaceStage implements Stage {
        private final Replace step;
        private final Stage next;

        ReplaceStage(Replace step, Stage next) {
            this.step = step;
            this.next = next;
        }

        @Override
        public void token(String token) {
            next.token(token.replace(step.pattern(), step.content()));
        }

        @Override
        public void end() {
            next.end();
        }

        @Override
        public boolean holding() {
            return next.holding();
        }
    }

    private static final class ByteFallbackStage implements Stage {
        private final Stage next;
        private byte[] run = new byte[16];
        private int length;

        ByteFallbackStage(Stage next) {
            this.next = next;
        }

        @Override
        public void token(String token) {
            int b = byteOf(token);
            if (b >= 0) {
                if (length == run.length) {
                    run = java.util.Arrays.copyOf(run, 2 * length);
                }
                run[length++] = (byte) b;
                return;
            }
            flush();
            next.token(token);
        }

        @Override
        public void end() {
            flush();
            next.end();
        }

        @Override
        public boolean holding() {
            return length > 0 || next.holding();
        }

        private void flush() {
            if (length == 0) {
                return;
            }
            try {
                next.token(StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(run, 0, length)).toString());
            } catch (CharacterCodingException e) {
                for (int i = 0; i < length; i++) {
                    next.token("\uFFFD"); // HF: one replacement character per byte of an invalid run
                }
            }
            length = 0;
        }

        /**
         * The byte of a {@code <0xNN>} token, or -1: exactly HF's test (six bytes, {@code <0x}, two characters
         * that Rust's {@code u8::from_str_radix(_, 16)} accepts, which includes a leading '+', then {@code >}).
         */
        static int byteOf(String t) {
            if (t.length() != 6 || !t.startsWith("<0x") || t.charAt(5) != '>') {
                return -1;
            }
            int hi = Character.digit(t.charAt(3), 16);
            int lo = Character.digit(t.charAt(4), 16);
            if (lo < 0 || t.charAt(4) > 0x7F) {
                return -1;
            }
            if (t.charAt(3) == '+') {
                return lo;
            }
            return hi < 0 || t.charAt(3) > 0x7F ? -1 : hi * 16 + lo;
        }
    }

    private static final class MetaspaceStage implements Stage {
        private final Metaspace step;
        private final Stage next;
        private boolean first = true;

        MetaspaceStage(Metaspace step, Stage next) {
            this.step = step;
            this.next = next;
        }

        @Override
        public void token(String token) {
            String t = first && step.stripFirst() ? token.replace(String.valueOf(step.replacement()), "")
                    : token.replace(step.replacement(), ' ');
            first = false;
            next.token(t);
        }

        @Override
        public void end() {
            next.end();
        }

        @Override
        public boolean holding() {
            return next.holding();
        }
    }

    private static final class TokenStrip implements Stage {
        private final Strip step;
        private final Stage next;

        TokenStrip(Strip step, Stage next) {
            this.step = step;
            this.next = next;
        }

        @Override
        public void token(String token) {
            int cut = 0;
            while (cut < step.start() && cut < token.length() && token.charAt(cut) == step.content()) {
                cut++;
            }
            next.token(token.substring(cut));
        }

        @Override
        public void end() {
            next.end();
        }

        @Override
        public boolean holding() {
            return next.holding();
        }
    }

    /** Concatenation (Fuse, or HF's final join), or with {@code spaces} HF's join when there is no decoder. */
    private static final class Concat implements Stage {
        private final TextStage next;
        private final boolean spaces;
        private boolean first = true;

        Concat(TextStage next, boolean spaces) {
            this.next = next;
            this.spaces = spaces;
        }

        @Override
        public void token(String token) {
            if (spaces && !first) {
                next.text(" ");
            }
            first = false;
            next.text(token);
        }

        @Override
        public void end() {
        }

        @Override
        public boolean holding() {
            return false;
        }
    }

    private static final class ByteLevelStage implements Stage {
        private final TextStage next;
        private final Utf8Decoder utf8 = new Utf8Decoder();
        private final StringBuilder buffer = new StringBuilder();

        ByteLevelStage(TextStage next) {
            this.next = next;
        }

        @Override
        public void token(String token) {
            for (byte b : ByteLevel.decode(token)) {
                utf8.accept(b, buffer);
            }
            pass();
        }

        @Override
        public void end() {
            utf8.finish(buffer);
            pass();
        }

        @Override
        public boolean holding() {
            return utf8.isPending();
        }

        private void pass() {
            if (!buffer.isEmpty()) {
                next.text(buffer);
                buffer.setLength(0);
            }
        }
    }

    /** Strip of the joined text: only its start, which arrives first. */
    private static final class TextStrip implements TextStage {
        private final Strip step;
        private final TextStage next;
        private int stripped;
        private boolean done;

        TextStrip(Strip step, TextStage next) {
            this.step = step;
            this.next = next;
        }

        @Override
        public void text(CharSequence s) {
            int cut = 0;
            while (!done && cut < s.length()) {
                if (stripped < step.start() && s.charAt(cut) == step.content()) {
                    stripped++;
                    cut++;
                } else {
                    done = true;
                }
            }
            if (cut < s.length()) {
                next.text(s.subSequence(cut, s.length()));
            }
        }
    }

    private static final class Output implements TextStage {
        private final StringBuilder out;

        Output(StringBuilder out) {
            this.out = out;
        }

        @Override
        public void text(CharSequence s) {
            out.append(s);
        }
    }
}
