package org.moescope.errors;

/**
 * Input the user gave us is wrong: a file, field, line or option. The message is one line that names the
 * culprit; the CLI prints it as-is and exits with status 2. Every module throws this for bad input so the
 * CLI needs exactly one place that turns it into an error line.
 */
public class BadInputException extends RuntimeException {
    public BadInputException(String message) {
        super(message);
    }

    public BadInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
