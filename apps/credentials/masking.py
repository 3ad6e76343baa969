"""Masking of secrets in run output, before anything is stored or streamed.

A secret can leave a step in several spellings: as is, base64-encoded (in an Authorization: Basic
header, a Kubernetes secret, a JSON body …), URL-encoded or JSON-escaped. Base64 depends on where
the secret starts within a 3-byte group, so each of the three alignments has its own spelling;
only the characters that depend on the secret alone are stable, and those are what is matched.

A spelling is also found when what was printed between its characters is invisible to a reader,
because a renderer or a terminal would join it back (issue 12): every spelling is looked for in
three views of the text, and a match in any of them masks the raw characters it came from:
- the raw text;
- the text as read: escape sequences (ESCAPE_SEQUENCE, shared with the page's renderer) and
  control, format and line/paragraph separator characters removed, so `Z\\x01Q`, `Z\\x1b[0mQ`,
  `Z\\rQ`, `Z\\bQ`, `Z\\nQ` and `Z\\u200bQ` all read `ZQ`;
- the text as a terminal leaves it after a redraw: carriage return, backspace and cursor-left /
  column moves overwrite what the line showed (`?QX\\rZ` shows `ZQX`), followed in the first
  TERMINAL_COLUMNS columns of each line.
What masking cannot recognise (a secret transformed by the script) is said in docs/security.md.
"""

import base64
import bisect
import itertools
import json
import re
import unicodedata
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
# Past this much held-back output, overlapping matches are flushed anyway: output cannot stall.
MAX_HELD = 64 * 1024
# Redraws are followed this far into a line; the state kept per step stays small whatever it prints.
TERMINAL_COLUMNS = 4096
# A replacement can in theory line characters up into a new match: look again, this many times.
MAX_PASSES = 3

# CSI (ESC [ … final byte), OSC (ESC ] … BEL or ESC \), charset designations (ESC ( B), and any
# other ESC + one character (ESC c, ESC 7 …). The renderer drops exactly these, so the masker reads
# the text the way the page shows it.
ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[([0-?]*)[ -/]*([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[()*+\-./][ -~]?|\x1b[ -~]?"
)
_UNSEEN_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}


def _unseen_codes() -> list[int]:
    planes = [range(0x30000), range(0xE0000, 0xE1000)]
    return [code for plane in planes for code in plane if unicodedata.category(chr(code)) in _UNSEEN_CATEGORIES]


_UNSEEN_CODES = _unseen_codes()
# str.translate is much faster than a regex on text with a newline every line.
_UNSEEN_TABLE = dict.fromkeys(_UNSEEN_CODES)


def unseen_class(*, but: str = "") -> str:
    """A regex class of the unseen characters (those in `but` left out), as ranges."""
    codes = [code for code in _UNSEEN_CODES if chr(code) not in but]
    # As ranges: a class of hundreds of single characters is scanned one by one by `re`.
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "[" + "".join(f"{re.escape(chr(low))}-{re.escape(chr(high))}" for low, high in ranges) + "]"


# Characters nobody sees as such (controls, zero-width and bidi marks, line separators): reading
# them out, tab and newline included, is what joins a secret back together.
_UNSEEN_CLASS = unseen_class()
# ESC is left to the sequences: "\x01\x1b[0m" must lose the whole sequence, as the renderer drops it.
_REMOVED = re.compile(ESCAPE_SEQUENCE.pattern + "|" + unseen_class(but="\x1b") + "+")
# One unseen character at a time, for the terminal view (newline, CR, backspace and tab act there).
_CONTROL = re.compile(_UNSEEN_CLASS)
# Only text that moves the cursor back can redraw a line; without any, the terminal view adds nothing.
_BACKWARD = re.compile(r"\r(?!\n)|\x08|\x1b\[[0-9;]*[DGH`f]")


def _base64_inner(data: bytes, offset: int, *, urlsafe: bool) -> str:
    """The part of base64(`offset` unknown bytes + data + unknown bytes) that depends on data only."""
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    encoded = encode(b"\0" * offset + data).decode("ascii")
    # Character i carries bits [6i, 6i + 6); keep those lying wholly inside the secret's bits.
    start = -(-offset * 8 // 6)
    end = (offset + len(data)) * 8 // 6
    return encoded[start:end]


def secret_variants(secret: str) -> set[str]:
    """Every spelling of `secret` that is masked."""
    data = secret.encode("utf-8")
    variants = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}
    variants.add(json.dumps(secret)[1:-1])
    variants.add(json.dumps(secret, ensure_ascii=False)[1:-1])
    for offset in (0, 1, 2):
        for urlsafe in (False, True):
            variants.add(_base64_inner(data, offset, urlsafe=urlsafe))
    # A short inner base64 part (from a short secret) would mask innocent text; the raw form still counts.
    return {variant for variant in variants if variant and (variant == secret or len(variant) >= 4)}


def read_view(text: str) -> str:
    """`text` as a reader sees it once escape sequences and unseen characters are gone."""
    if "\x1b" in text:
        text = ESCAPE_SEQUENCE.sub("", text)
    return text.translate(_UNSEEN_TABLE)


class _ReadView:
    """read_view() of context + raw, with the raw index of each character (-1 for the context's)."""

    def __init__(self, context: str, raw: str):
        self.context = context
        self.own = read_view(raw)
        self.text = context + self.own
        self._raw = raw
        self._kept_starts: list[int] | None = None

    def _index(self) -> None:
        # Built only when a position is asked for; plain output pays for one `sub` and nothing else.
        removed = [match.span() for match in _REMOVED.finditer(self._raw)]
        lengths = [end - start for start, end in removed]
        self._removed_before = [0, *itertools.accumulate(lengths)]
        # Where, in the read view, the text after each removed run starts.
        self._kept_starts = [end - before for (_, end), before in zip(removed, self._removed_before[1:], strict=True)]

    def origin(self, index: int) -> int:
        index -= len(self.context)
        if index < 0:
            return -1
        if self._kept_starts is None:
            self._index()
        runs = bisect.bisect_right(self._kept_starts, index)
        return index + self._removed_before[runs]


class _Line:
    """One terminal line: cells of (character, raw index or -1), the cursor, and the redraw in progress."""

    def __init__(self) -> None:
        self.cells: list[tuple[str, int]] = []
        self.cursor = 0
        self.previous: list[tuple[str, int]] = []  # the end of the line before, for matches across lines
        self.redraw_from: int | None = None  # first column written since the cursor last went back
        self.redraw_to = 0
        self.went_back = False

    def copy(self) -> "_Line":
        line = _Line()
        line.cells, line.cursor, line.previous = list(self.cells), self.cursor, self.previous
        line.redraw_from, line.redraw_to, line.went_back = self.redraw_from, self.redraw_to, self.went_back
        return line


class _Terminal:
    """Follows the redraws of a text on a line state, collecting the windows a redraw changed."""

    def __init__(self, line: _Line, reach: int, *, collect: bool = True):
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
        for match in _CONTROL.finditer(text, start, end):
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
        self._line = _Line()

    # --- finding -----------------------------------------------------------------------------

    def _ranges(self, text: str, line: _Line) -> list[tuple[int, int]]:
        """Merged [start, end) ranges of `text` that spell a secret in any view, given the context."""
        found = []
        raw_context = self._raw_tail
        for start, end in _find(raw_context + text, self.variants):
            if end > len(raw_context):
                found.append((max(start - len(raw_context), 0), end - len(raw_context)))
        view = _ReadView(self._read_tail, text)
        for start, end in _find(view.text, self.read_variants):
            last = view.origin(end - 1)
            if last >= 0:
                found.append((max(view.origin(start), 0), last + 1))
        if line.went_back or line.redraw_from is not None or _BACKWARD.search(text):
            terminal = _Terminal(line.copy(), len(self.read_variants[0]) if self.read_variants else 1)
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

    def _settle(self, text: str, spans: list[tuple[int, int]], line: _Line) -> str:
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
            return self._settle(text, self._ranges(text, _Line()), _Line())
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
            read = _ReadView("", buffer[offset:])
            if offset and len(read.own) < self.hold:
                offset, read = 0, _ReadView("", buffer)
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
            self._line = _Line()
            text = text[before + 1 :]
        # Emitted characters can no longer be changed: in the line state they count as context.
        _Terminal(self._line, reach, collect=False).run(text)
        self._line.cells = [(char, -1) for char, _ in self._line.cells]
        self._line.previous = [(char, -1) for char, _ in self._line.previous]
