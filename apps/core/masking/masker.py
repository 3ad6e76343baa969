"""Masker: a step's secrets replaced by MASK in every view of its output (see apps.core.masking)."""

from typing import Any

from apps.core.masking.reading import BACKWARD, ReadView, read_view
from apps.core.masking.spellings import secret_variants
from apps.core.masking.terminal import Terminal, TerminalLine

MASK = "***"
# Past this much held-back output, overlapping matches are flushed anyway: output cannot stall.
MAX_HELD = 64 * 1024
# A replacement can in theory line characters up into a new match: look again, this many times.
MAX_PASSES = 3


def _merge(found: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def _find(text: str, needles: list[str]) -> list[tuple[int, int]]:
    found = []
    for needle in needles:
        start = text.find(needle)
        while start != -1:
            found.append((start, start + len(needle)))
            start = text.find(needle, start + 1)
    return found


class Masker:
    """mask(text) for whole strings; feed(chunk)/flush() for a stream whose chunks may split a secret."""

    def __init__(self, secrets: list[str]):
        variants: set[str] = set()
        read: set[str] = set()
        for secret in secrets:
            if secret:
                spellings = secret_variants(secret)
                variants |= spellings
                read |= {read_view(spelling) for spelling in spellings}
                read.add(read_view(secret))
        self.variants = sorted(variants, key=len, reverse=True)
        self.read_variants = sorted((variant for variant in read if variant), key=len, reverse=True)
        # Enough to hold all but the last character of the longest spelling until the next chunk.
        self.hold = max((len(variant) for variant in self.variants), default=1) - 1
        self._pending = ""
        # What was already let out, as context: a match straddling it still masks its new part.
        self._raw_tail = ""
        self._read_tail = ""
        self._line = TerminalLine()

    # --- finding -----------------------------------------------------------------------------

    def _ranges(self, text: str, line: TerminalLine) -> list[tuple[int, int]]:
        """Merged [start, end) ranges of `text` that spell a secret in any view, given the context."""
        found = []
        raw_context = self._raw_tail
        for start, end in _find(raw_context + text, self.variants):
            if end > len(raw_context):
                found.append((max(start - len(raw_context), 0), end - len(raw_context)))
        view = ReadView(self._read_tail, text)
        for start, end in _find(view.text, self.read_variants):
            last = view.origin(end - 1)
            if last >= 0:
                found.append((max(view.origin(start), 0), last + 1))
        if line.went_back or line.redraw_from is not None or BACKWARD.search(text):
            terminal = Terminal(line.copy(), len(self.read_variants[0]) if self.read_variants else 1)
            terminal.run(text)
            # All windows in one text, a NUL (in no spelling: it is an unseen character) between them.
            cells = [cell for window in terminal.finish() for cell in (*window, ("\0", -1))]
            shown = "".join(char for char, _ in cells)
            for start, end in _find(shown, self.read_variants):
                ours = [index for _, index in cells[start:end] if index >= 0]
                if ours:
                    found.append((min(ours), max(ours) + 1))
        return _merge(found)

    @staticmethod
    def _replace(text: str, spans: list[tuple[int, int]]) -> str:
        parts, position = [], 0
        for start, end in spans:
            parts.append(text[position:start])
            parts.append(MASK)
            position = end
        parts.append(text[position:])
        return "".join(parts)

    def _settle(self, text: str, spans: list[tuple[int, int]], line: TerminalLine) -> str:
        """Replace `spans`, then look again until nothing spells a secret (never more than a few passes)."""
        for _ in range(MAX_PASSES):
            if not spans:
                return text
            text = self._replace(text, spans)
            spans = self._ranges(text, line)
        return MASK if spans else text

    # --- the public API ----------------------------------------------------------------------

    def mask(self, text: str) -> str:
        if not self.variants or not text:
            return text
        saved = self._raw_tail, self._read_tail
        self._raw_tail = self._read_tail = ""
        try:
            return self._settle(text, self._ranges(text, TerminalLine()), TerminalLine())
        finally:
            self._raw_tail, self._read_tail = saved

    def mask_data(self, value: Any) -> Any:
        """mask() over every string (keys included) of a JSON-like value: results, headers, bodies."""
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, dict):
            return {self.mask(str(key)): self.mask_data(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.mask_data(item) for item in value]
        return value

    def feed(self, chunk: str) -> str:
        """Masked output that is safe to emit now; the tail that could start a secret is held back."""
        if not self.variants:
            return chunk
        buffer = self._pending + chunk
        spans = self._ranges(buffer, self._line)
        cut = max(0, len(buffer) - self.hold)
        # The same in the read view: a secret with unseen characters between its letters may start
        # further back than `hold` raw characters.
        if self.hold:
            # Only the end of the buffer is read, unless unseen characters fill it.
            offset = max(0, len(buffer) - (4 * self.hold + 256))
            read = ReadView("", buffer[offset:])
            if offset and len(read.own) < self.hold:
                offset, read = 0, ReadView("", buffer)
            cut = min(cut, offset + read.origin(len(read.own) - self.hold)) if len(read.own) >= self.hold else 0
        # Any occurrence starting before `cut` is wholly inside the buffer, so it has been found.
        # A match reaching past `cut` might still grow with the next chunk: hold it back whole.
        for start, end in spans:
            if start < cut < end:
                cut = start
        if len(buffer) - cut > MAX_HELD:
            cut = len(buffer)
        self._pending = buffer[cut:]
        out = self._settle(buffer[:cut], [(start, end) for start, end in spans if end <= cut], self._line)
        self._let_out(out)
        return out

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        if not self.variants or not rest:
            return rest
        out = self._settle(rest, self._ranges(rest, self._line), self._line)
        self._let_out(out)
        return out

    def _let_out(self, text: str) -> None:
        """Remember the end of what was emitted, in each view, as the context of what comes next."""
        if not text:
            return
        keep = self.hold
        self._raw_tail = (self._raw_tail + text)[-keep:] if keep else ""
        # The end of the text is enough (a sequence cut at its start only adds a few characters).
        self._read_tail = (self._read_tail + read_view(text[-(4 * keep + 256) :]))[-keep:] if keep else ""
        reach = len(self.read_variants[0]) if self.read_variants else 1
        # Only the last line and the end of the one before matter to what comes next.
        last = text.rfind("\n")
        before = text.rfind("\n", 0, last) if last > 0 else -1
        if before >= 0:
            self._line = TerminalLine()
            text = text[before + 1 :]
        # Emitted characters can no longer be changed: in the line state they count as context.
        Terminal(self._line, reach, collect=False).run(text)
        self._line.cells = [(char, -1) for char, _ in self._line.cells]
        self._line.previous = [(char, -1) for char, _ in self._line.previous]
