package org.moescope.cli;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The report's settings show the command as typed: picocli's original arguments already start with "monitor". */
class MonitorCommandLineTest {
    @Test
    void theSubcommandNameAppearsOnce() {
        assertEquals("moescope monitor", MonitorCommand.commandLine(List.of("monitor")));
        assertEquals("moescope monitor --out r --tau 0.5", MonitorCommand.commandLine(List.of("monitor", "--out", "r", "--tau", "0.5")));
        assertEquals("moescope monitor --out monitor", MonitorCommand.commandLine(List.of("monitor", "--out", "monitor")));
    }
}
