package org.moescope.chat;

import org.moescope.errors.BadInputException;

/**
 * A chat template that cannot be parsed or rendered: a syntax error, a construct outside the supported subset, a
 * Python-level error at render time (e.g. adding a string to a number), or the template's own
 * {@code raise_exception(...)}. It is bad input (the template or the messages must change), so the CLI prints the one
 * line and exits with status 2.
 */
public final class TemplateException extends BadInputException {
    private final boolean raised;

    TemplateException(String message, boolean raised) {
        super(oneLine(message));
        this.raised = raised;
    }

    /** Whether the template itself raised this through {@code raise_exception} (the messages were refused). */
    public boolean raisedByTemplate() {
        return raised;
    }

    private static String oneLine(String s) {
        return s.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\r");
    }
}
