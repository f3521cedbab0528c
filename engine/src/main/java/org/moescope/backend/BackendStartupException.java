package org.moescope.backend;

/**
 * A backend could not start here (no device, driver error) or cannot run this checkpoint (a Q8_0 checkpoint on a
 * device backend). The message is one line; under --backend auto the CPU takes over.
 */
public final class BackendStartupException extends RuntimeException {
    public BackendStartupException(String message, Throwable cause) {
        super(message, cause);
    }
}
