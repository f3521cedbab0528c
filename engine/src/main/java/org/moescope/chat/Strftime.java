package org.moescope.chat;

import org.moescope.chat.Py.PyError;

import java.time.LocalDateTime;
import java.time.format.TextStyle;
import java.util.Locale;

/**
 * Python's {@code datetime.strftime} (C locale, naive local time, glibc) for transformers' {@code strftime_now} global,
 * which templates such as Llama 3.1's use to print today's date ({@code "%d %b %Y"}). Directives outside this set are
 * refused rather than guessed.
 */
final class Strftime {
    private Strftime() {
    }

    static String format(String fmt, LocalDateTime t) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < fmt.length(); i++) {
            char c = fmt.charAt(i);
            if (c != '%' || i + 1 >= fmt.length()) {
                b.append(c);
                continue;
            }
            char d = fmt.charAt(++i);
            boolean noPad = false;
            if (d == '-' && i + 1 < fmt.length()) {
                noPad = true;
                d = fmt.charAt(++i);
            }
            switch (d) {
                case 'a' -> b.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.US));
                case 'A' -> b.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.US));
                case 'b', 'h' -> b.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.US));
                case 'B' -> b.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.US));
                case 'd' -> num(b, t.getDayOfMonth(), 2, noPad);
                case 'e' -> b.append(String.format("%2d", t.getDayOfMonth()));
                case 'm' -> num(b, t.getMonthValue(), 2, noPad);
                case 'y' -> num(b, t.getYear() % 100, 2, noPad);
                case 'Y' -> b.append(t.getYear());
                case 'H' -> num(b, t.getHour(), 2, noPad);
                case 'I' -> num(b, t.getHour() % 12 == 0 ? 12 : t.getHour() % 12, 2, noPad);
                case 'M' -> num(b, t.getMinute(), 2, noPad);
                case 'S' -> num(b, t.getSecond(), 2, noPad);
                case 'p' -> b.append(t.getHour() < 12 ? "AM" : "PM");
                case 'j' -> num(b, t.getDayOfYear(), 3, noPad);
                case 'w' -> b.append(t.getDayOfWeek().getValue() % 7);
                case 'u' -> b.append(t.getDayOfWeek().getValue());
                case 'Z', 'z' -> { } // naive datetime: empty
                case '%' -> b.append('%');
                default -> throw new PyError("strftime_now: format directive %" + (noPad ? "-" : "") + d
                        + " is not supported by moescope's template engine");
            }
        }
        return b.toString();
    }

    private static void num(StringBuilder b, int v, int width, boolean noPad) {
        String s = Integer.toString(v);
        if (!noPad) s = "0".repeat(Math.max(0, width - s.length())) + s;
        b.append(s);
    }
}
