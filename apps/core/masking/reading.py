"""The text as a reader sees it: escape sequences (ESCAPE_SEQUENCE, shared with the page's
renderer) and unseen characters (controls, format characters, line and paragraph separators)
removed, with the way back from a read-view position to the raw text."""

import bisect
import itertools
import re
import unicodedata

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
REMOVED = re.compile(ESCAPE_SEQUENCE.pattern + "|" + unseen_class(but="\x1b") + "+")
# One unseen character at a time, for the terminal view (newline, CR, backspace and tab act there).
CONTROL = re.compile(_UNSEEN_CLASS)
# Only text that moves the cursor back can redraw a line; without any, the terminal view adds nothing.
BACKWARD = re.compile(r"\r(?!\n)|\x08|\x1b\[[0-9;]*[DGH`f]")


def read_view(text: str) -> str:
    """`text` as a reader sees it once escape sequences and unseen characters are gone."""
    if "\x1b" in text:
        text = ESCAPE_SEQUENCE.sub("", text)
    return text.translate(_UNSEEN_TABLE)


class ReadView:
    """read_view() of context + raw, with the raw index of each character (-1 for the context's)."""

    def __init__(self, context: str, raw: str):
        self.context = context
        self.own = read_view(raw)
        self.text = context + self.own
        self._raw = raw
        self._kept_starts: list[int] | None = None

    def _index(self) -> None:
        # Built only when a position is asked for; plain output pays for one `sub` and nothing else.
        removed = [match.span() for match in REMOVED.finditer(self._raw)]
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
