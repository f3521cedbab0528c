package org.moescope.backend;

/** A backend's runtime could not start here (no device, driver error). The message is one line. */
public final class BackendStartupException extends RuntimeException {
    public BackendStartupException(String message, Throwable cause) {
        super(message, cause);
    }
}
