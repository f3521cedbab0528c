package org.moescope.report;

import java.util.List;
import java.util.Locale;

/**
 * A self-contained HTML page (inline CSS and SVG, no external resources) built section by section: headings,
 * paragraphs, tables and figures. Text is escaped; SVG is inserted as produced by {@link ChartFiles#svg}.
 */
public final class HtmlReport {
    private final StringBuilder body = new StringBuilder();
    private final String title;
    private boolean sortable;

    public HtmlReport(String title) {
        this.title = title;
    }

    public HtmlReport heading(String text) {
        body.append("<h2>").append(escape(text)).append("</h2>\n");
        return this;
    }

    public HtmlReport paragraph(String text) {
        body.append("<p>").append(escape(text)).append("</p>\n");
        return this;
    }

    /** A paragraph whose text is already HTML (used for short, code-generated emphasis only). */
    public HtmlReport rawParagraph(String html) {
        body.append("<p>").append(html).append("</p>\n");
        return this;
    }

    public HtmlReport table(List<String> header, List<List<String>> rows) {
        body.append("<table><thead><tr>");
        header.forEach(h -> body.append("<th>").append(escape(h)).append("</th>"));
        body.append("</tr></thead><tbody>\n");
        for (List<String> row : rows) {
            body.append("<tr>");
            row.forEach(c -> body.append("<td>").append(escape(c)).append("</td>"));
            body.append("</tr>\n");
        }
        body.append("</tbody></table>\n");
        return this;
    }

    /**
     * A table whose columns sort on a click of their header (a few lines of inline script, added once). Cells that
     * parse as numbers sort numerically; "n/a" sorts last.
     */
    public HtmlReport sortableTable(List<String> header, List<List<String>> rows) {
        sortable = true;
        int at = body.length();
        table(header, rows);
        body.replace(at, at + "<table>".length(), "<table class=\"sortable\">");
        return this;
    }

    public HtmlReport figure(String svg, String caption) {
        body.append("<figure>").append(svg).append("<figcaption>").append(escape(caption))
                .append("</figcaption></figure>\n");
        return this;
    }

    /** Starts a block of small figures laid out side by side; close it with {@link #endGrid()}. */
    public HtmlReport beginGrid() {
        body.append("<div class=\"grid\">\n");
        return this;
    }

    public HtmlReport endGrid() {
        body.append("</div>\n");
        return this;
    }

    /** Starts a collapsed section with a one-line summary; close it with {@link #endDetails()}. */
    public HtmlReport beginDetails(String summary) {
        body.append("<details><summary>").append(escape(summary)).append("</summary>\n");
        return this;
    }

    public HtmlReport endDetails() {
        body.append("</details>\n");
        return this;
    }

    public String render() {
        return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + escape(title) + "</title>\n"
                + "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}"
                + "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}td,th{border:1px solid #ccc;padding:3px 8px;"
                + "text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}"
                + "figure{margin:1.5em 0}figcaption{font-size:0.9em;color:#555}svg{max-width:100%;height:auto}"
                + ".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:0 1.2em}"
                + ".grid figure{margin:0.8em 0}details{margin:1em 0}summary{cursor:pointer;font-weight:600}"
                + "table.sortable th{cursor:pointer}table.sortable th:hover{background:#e4e9f0}</style>\n"
                + "</head><body>\n<h1>" + escape(title) + "</h1>\n" + body + (sortable ? SORT_SCRIPT : "")
                + "</body></html>\n";
    }

    // Click a header: sort the body rows by that column, numbers as numbers, "n/a" last; click again to reverse.
    private static final String SORT_SCRIPT = """
            <script>
            document.querySelectorAll('table.sortable').forEach(function (t) {
              t.querySelectorAll('th').forEach(function (th, col) {
                th.title = 'sort by this column';
                th.addEventListener('click', function () {
                  var asc = th.dataset.dir !== 'asc';
                  t.querySelectorAll('th').forEach(function (h) { delete h.dataset.dir; });
                  th.dataset.dir = asc ? 'asc' : 'desc';
                  var body = t.tBodies[0], rows = Array.prototype.slice.call(body.rows);
                  function key(r) {
                    var s = r.cells[col].textContent.trim(), v = parseFloat(s.replace(/,/g, ''));
                    return s === 'n/a' ? null : (isNaN(v) || !/^[-+0-9.]/.test(s) ? s : v);
                  }
                  rows.sort(function (a, b) {
                    var x = key(a), y = key(b);
                    if (x === null || y === null) return x === y ? 0 : (x === null ? 1 : -1);
                    var c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
                    return asc ? c : -c;
                  });
                  rows.forEach(function (r) { body.appendChild(r); });
                });
              });
            });
            </script>
            """;

    public static String escape(String s) {
        if (s == null) return "";
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    /** Formats a number for tables: 4 significant digits, "n/a" for NaN. */
    public static String num(double v) {
        if (Double.isNaN(v)) return "n/a";
        if (v == Math.rint(v) && Math.abs(v) < 1e9) return String.format(Locale.ROOT, "%d", (long) v);
        return String.format(Locale.ROOT, "%.4g", v);
    }
}
