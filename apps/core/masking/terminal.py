"""The text as a terminal leaves it after a redraw: carriage return, backspace and cursor-left /
column moves overwrite what the line showed, followed in the first TERMINAL_COLUMNS columns."""

import re

from apps.core.masking.reading import CONTROL, ESCAPE_SEQUENCE

# Redraws are followed this far into a line; the state kept per step stays small whatever it prints.
TERMINAL_COLUMNS = 4096


class TerminalLine:
    """One terminal line: cells of (character, raw index or -1), the cursor, and the redraw in progress."""

    def __init__(self) -> None:
        self.cells: list[tuple[str, int]] = []
        self.cursor = 0
        self.previous: list[tuple[str, int]] = []  # the end of the line before, for matches across lines
        self.redraw_from: int | None = None  # first column written since the cursor last went back
        self.redraw_to = 0
        self.went_back = False

    def copy(self) -> "TerminalLine":
        line = TerminalLine()
        line.cells, line.cursor, line.previous = list(self.cells), self.cursor, self.previous
        line.redraw_from, line.redraw_to, line.went_back = self.redraw_from, self.redraw_to, self.went_back
        return line


class Terminal:
    """Follows the redraws of a text on a line state, collecting the windows a redraw changed."""

    def __init__(self, line: TerminalLine, reach: int, *, collect: bool = True):
        self.line = line
        self.reach = reach  # the longest spelling: a window extends this far around what changed
        self.collect = collect
        self.windows: list[list[tuple[str, int]]] = []

    def _window(self) -> None:
        line = self.line
        if line.redraw_from is None:
            return
        if not self.collect:
            line.redraw_from = None
            return
        start, end = line.redraw_from - self.reach + 1, min(len(line.cells), line.redraw_to + self.reach - 1)
        before = line.previous[len(line.previous) + start :] if start < 0 else []
        self.windows.append(before + line.cells[max(start, 0) : end])
        line.redraw_from = None

    def _back(self, column: int) -> None:
        self._window()
        self.line.cursor = max(0, min(column, TERMINAL_COLUMNS))
        self.line.went_back = True

    def _put(self, text: str, start: int, end: int) -> None:
        """Write text[start:end] (no control characters in it) at the cursor, in one slice."""
        line = self.line
        end = min(end, start + TERMINAL_COLUMNS - line.cursor)
        if end <= start:
            return
        if len(line.cells) < line.cursor:
            line.cells.extend([(" ", -1)] * (line.cursor - len(line.cells)))
        written = end - start
        line.cells[line.cursor : line.cursor + written] = zip(text[start:end], range(start, end), strict=True)
        if line.went_back:
            if line.redraw_from is None:
                line.redraw_from, line.redraw_to = line.cursor, line.cursor + written
            else:
                line.redraw_from = min(line.redraw_from, line.cursor)
                line.redraw_to = max(line.redraw_to, line.cursor + written)
        line.cursor += written

    def _newline(self) -> None:
        self._window()
        line = self.line
        line.previous = line.cells[-self.reach :] if self.reach else []
        line.cells, line.cursor, line.went_back = [], 0, False

    def _sequence(self, match: re.Match) -> None:
        if match.group(2) is None:
            return
        numbers = [int(part) for part in (match.group(1) or "").split(";") if part.isdigit()]
        count = numbers[0] if numbers else 1
        final = match.group(2)
        if final == "D":
            self._back(self.line.cursor - max(count, 1))
        elif final == "C":
            self.line.cursor = min(self.line.cursor + max(count, 1), TERMINAL_COLUMNS)
        elif final in "G`":
            self._back(count - 1)
        elif final in "Hf":
            self._back((numbers[1] if len(numbers) > 1 else 1) - 1)
        elif final == "K":
            # Erasing shows blanks; what is written over them afterwards is what counts.
            mode = numbers[0] if numbers else 0
            cells = self.line.cells
            if mode == 0:
                del cells[self.line.cursor :]
            elif mode == 1:
                cells[: self.line.cursor] = [(" ", -1)] * min(self.line.cursor, len(cells))
            else:
                cells.clear()

    def run(self, text: str) -> None:
        position = 0
        for match in ESCAPE_SEQUENCE.finditer(text):
            self._plain(text, position, match.start())
            self._sequence(match)
            position = match.end()
        self._plain(text, position, len(text))

    def _plain(self, text: str, start: int, end: int) -> None:
        position = start
        for match in CONTROL.finditer(text, start, end):
            self._put(text, position, match.start())
            position = match.end()
            char = match.group()
            if char == "\n":
                self._newline()
            elif char == "\r":
                self._back(0)
            elif char == "\b":
                self._back(self.line.cursor - 1)
            elif char == "\t":
                self.line.cursor = min((self.line.cursor // 8 + 1) * 8, TERMINAL_COLUMNS)
        self._put(text, position, end)

    def finish(self) -> list[list[tuple[str, int]]]:
        """The windows, including the redraw still in progress at the end of the text."""
        self._window()
        return self.windows
