package org.moescope.cli;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Ctrl-C (SIGINT) for the chat: while a reply is being generated it asks the reply to stop; at the prompt it runs
 * {@code idle} (a hint) instead of killing the JVM. Uses sun.misc.Signal (module jdk.unsupported, exported on every
 * JDK) through reflection, because javac warns about that API at compile time; where it is missing, Ctrl-C keeps its
 * default meaning (end the process). The previous handler is restored on close.
 */
final class Interrupts implements AutoCloseable {
    private final AtomicBoolean replying = new AtomicBoolean();
    private final AtomicBoolean cancel = new AtomicBoolean();
    private final Runnable idle;
    private Object signal;
    private Object previous;
    private Method handle;

    Interrupts(Runnable idle) {
        this.idle = idle;
        try {
            Class<?> signalClass = Class.forName("sun.misc.Signal");
            Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
            signal = signalClass.getConstructor(String.class).newInstance("INT");
            InvocationHandler onSignal = (proxy, method, args) -> switch (method.getName()) {
                case "handle" -> {
                    if (replying.get()) cancel.set(true);
                    else this.idle.run();
                    yield null;
                }
                case "hashCode" -> System.identityHashCode(proxy);
                case "equals" -> proxy == args[0];
                case "toString" -> "moescope chat SIGINT handler";
                default -> null;
            };
            Object handler = Proxy.newProxyInstance(handlerClass.getClassLoader(), new Class<?>[] {handlerClass},
                    onSignal);
            handle = signalClass.getMethod("handle", signalClass, handlerClass);
            previous = handle.invoke(null, signal, handler);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            // No signal API (or SIGINT is reserved, e.g. with -Xrs): Ctrl-C ends the process as usual.
            signal = null;
        }
    }

    /** Whether Ctrl-C is handled here (else it ends the process). */
    boolean installed() {
        return signal != null;
    }

    /** A reply starts: Ctrl-C from now on stops it. */
    void replyStarts() {
        cancel.set(false);
        replying.set(true);
    }

    void replyEnds() {
        replying.set(false);
        cancel.set(false);
    }

    /** Whether Ctrl-C was pressed during the current reply. */
    boolean cancelled() {
        return cancel.get();
    }

    @Override
    public void close() {
        if (signal != null && previous != null) {
            try {
                handle.invoke(null, signal, previous);
            } catch (ReflectiveOperationException e) {
                // The JVM is ending its chat anyway; the old handler only matters to an embedding caller.
            }
        }
    }
}
