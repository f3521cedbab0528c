package org.moescope.serve;

/**
 * A request the server refuses, answered as OpenAI's error object: {"error": {"message", "type", "param", "code"}}
 * with the HTTP status. Never logged: it is the client's to fix.
 */
final class ApiError extends RuntimeException {
    final int status;
    final String type;
    final String param;
    final String code;

    ApiError(int status, String type, String param, String code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /** 400 invalid_request_error about one parameter. */
    static ApiError invalid(String param, String message) {
        return new ApiError(400, "invalid_request_error", param, null, message);
    }
}
