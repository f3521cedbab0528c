package org.moescope.serve;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/**
 * The sampling and output parameters of a completion or chat completion request, checked; anything else is an
 * {@link ApiError} naming the parameter. Unknown parameters are ignored, as OpenAI-compatible servers do.
 *
 * @param maxTokens   null when not given (the endpoint's default applies)
 * @param seed        null: a random seed
 * @param topLogprobs alternatives per token; -1 when logprobs are off
 */
record Request(boolean chat, Integer maxTokens, float temperature, float topP, Long seed, List<String> stop,
               int topLogprobs, boolean stream, boolean includeUsage, boolean routes) {

    static Request parse(JsonNode body, boolean chat) {
        Integer maxTokens = optionalInt(body, chat && body.has("max_completion_tokens") ? "max_completion_tokens"
                : "max_tokens", 1, Integer.MAX_VALUE);
        float temperature = (float) optionalNumber(body, "temperature", 1, 0, 2);
        float topP = (float) optionalNumber(body, "top_p", 1, Double.MIN_VALUE, 1);
        Integer n = optionalInt(body, "n", 1, 1);
        assert n == null || n == 1;
        Long seed = null;
        JsonNode s = body.get("seed");
        if (s != null && !s.isNull()) {
            if (!s.isIntegralNumber() || !s.canConvertToLong()) throw ApiError.invalid("seed", "seed must be an integer");
            seed = s.longValue();
        }
        for (String penalty : List.of("presence_penalty", "frequency_penalty")) {
            double p = optionalNumber(body, penalty, 0, -2, 2);
            if (p != 0) throw ApiError.invalid(penalty, penalty + " is not supported (only 0)");
        }
        List<String> stop = new ArrayList<>();
        JsonNode st = body.get("stop");
        if (st != null && !st.isNull()) {
            if (st.isTextual()) {
                stop.add(st.textValue());
            } else if (st.isArray() && st.size() <= 4) {
                for (JsonNode x : st) {
                    if (!x.isTextual()) throw ApiError.invalid("stop", "stop must be a string or a list of up to 4 strings");
                    stop.add(x.textValue());
                }
            } else {
                throw ApiError.invalid("stop", "stop must be a string or a list of up to 4 strings");
            }
            if (stop.stream().anyMatch(String::isEmpty)) throw ApiError.invalid("stop", "stop sequences must not be empty");
        }
        int topLogprobs = -1;
        JsonNode lp = body.get("logprobs");
        if (chat) {
            if (lp != null && !lp.isNull() && !lp.isBoolean()) throw ApiError.invalid("logprobs", "logprobs must be a boolean");
            Integer top = optionalInt(body, "top_logprobs", 0, 20);
            if (lp != null && lp.asBoolean()) topLogprobs = top == null ? 0 : top;
            else if (top != null) throw ApiError.invalid("top_logprobs", "top_logprobs needs logprobs: true");
        } else {
            Integer top = optionalInt(body, "logprobs", 0, 20);
            if (top != null) topLogprobs = top;
        }
        boolean stream = optionalBoolean(body, "stream", false);
        boolean includeUsage = false;
        JsonNode so = body.get("stream_options");
        if (so != null && !so.isNull()) {
            if (!so.isObject()) throw ApiError.invalid("stream_options", "stream_options must be an object");
            if (!stream) throw ApiError.invalid("stream_options", "stream_options needs stream: true");
            includeUsage = optionalBoolean(so, "include_usage", false);
        }
        boolean routes = false;
        JsonNode ext = body.get("moescope");
        if (ext != null && !ext.isNull()) {
            if (!ext.isObject()) throw ApiError.invalid("moescope", "moescope must be an object, e.g. {\"routes\": true}");
            routes = optionalBoolean(ext, "routes", false);
        }
        return new Request(chat, maxTokens, temperature, topP, seed, List.copyOf(stop), topLogprobs, stream,
                includeUsage, routes);
    }

    static Integer optionalInt(JsonNode body, String name, int min, int max) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) return null;
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < min || v.intValue() > max) {
            throw ApiError.invalid(name, name + " must be an integer in [" + min + ", " + max + "], not " + brief(v));
        }
        return v.intValue();
    }

    static double optionalNumber(JsonNode body, String name, double dflt, double min, double max) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) return dflt;
        if (!v.isNumber() || v.doubleValue() < min || v.doubleValue() > max || Double.isNaN(v.doubleValue())) {
            throw ApiError.invalid(name, name + " must be a number in [" + (min == Double.MIN_VALUE ? "0 (exclusive)"
                    : min) + ", " + max + "], not " + brief(v));
        }
        return v.doubleValue();
    }

    static boolean optionalBoolean(JsonNode body, String name, boolean dflt) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) return dflt;
        if (!v.isBoolean()) throw ApiError.invalid(name, name + " must be a boolean, not " + brief(v));
        return v.booleanValue();
    }

    /** A value for an error message, cut short. */
    static String brief(JsonNode v) {
        String s = v.toString();
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }
}
