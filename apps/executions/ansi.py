"""Terminal output to safe HTML: the 8/16 basic ANSI colours and bold as spans, other escape
sequences dropped, other control characters shown.

HTML is escaped FIRST, over the whole text; only then are escape sequences (which escaping leaves
alone: ESC and "[" are not HTML-special) turned into spans whose class names come from a fixed
table. Nothing from the output ever lands in markup except as escaped text.

Characters a browser would not show (controls, zero-width and bidi marks, line separators; not tab
and newline) are drawn as visible symbols instead of being dropped: dropping them would join what
was printed around them, and `Z\x01QX9` would read as the secret `ZQX9` that the masker never saw
(issue 12). The masker (apps.core.masking) also reads output with those characters and the
escape sequences removed, so even the dropped sequences cannot join a secret back together.
"""

import html
import re

from django.utils.safestring import SafeString, mark_safe

from apps.core.masking.reading import ESCAPE_SEQUENCE, unseen_class

_SEQUENCE = ESCAPE_SEQUENCE
# A CR that ends a line (CRLF output) is just a line ending; any other one is shown.
_LINE_END_CR = re.compile(r"\r+(?=\n)")
_UNSEEN = re.compile(unseen_class(but="\n\t\x1b"))
# The old name: C0 controls, for ansi_strip.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f]")
COLOURS = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")


class _State:
    def __init__(self) -> None:
        self.fg: str | None = None
        self.bg: str | None = None
        self.bold = False

    def classes(self) -> list[str]:
        names = ["ansi-bold"] if self.bold else []
        if self.fg:
            names.append(f"ansi-{self.fg}")
        if self.bg:
            names.append(f"ansi-bg-{self.bg}")
        return names

    def apply(self, parameters: str) -> None:
        codes = [int(code) if code.isdigit() else 0 for code in parameters.split(";")] if parameters else [0]
        index = 0
        while index < len(codes):
            code = codes[index]
            if code == 0:
                self.fg = self.bg = None
                self.bold = False
            elif code == 1:
                self.bold = True
            elif code == 22:
                self.bold = False
            elif 30 <= code <= 37:
                self.fg = COLOURS[code - 30]
            elif 90 <= code <= 97:
                self.fg = f"bright-{COLOURS[code - 90]}"
            elif code == 39:
                self.fg = None
            elif 40 <= code <= 47:
                self.bg = COLOURS[code - 40]
            elif 100 <= code <= 107:
                self.bg = f"bright-{COLOURS[code - 100]}"
            elif code == 49:
                self.bg = None
            elif code in (38, 48):
                # 256-colour and true-colour forms: not rendered; skip their arguments so they are
                # not misread as other codes.
                if index + 1 < len(codes) and codes[index + 1] == 5:
                    index += 2
                elif index + 1 < len(codes) and codes[index + 1] == 2:
                    index += 4
            index += 1


def _shown(match: re.Match) -> str:
    code = ord(match.group())
    symbol = chr(0x2400 + code) if code < 0x20 else "\u2421" if code == 0x7F else f"U+{code:04X}"
    return f'<span class="ansi-control" title="U+{code:04X}">{symbol}</span>'


def ansi_to_html(text: str) -> SafeString:
    escaped = html.escape(_LINE_END_CR.sub("", text), quote=True)
    state = _State()
    parts: list[str] = []
    position = 0

    def emit(segment: str) -> None:
        segment = _UNSEEN.sub(_shown, segment)
        if not segment:
            return
        classes = state.classes()
        parts.append(f'<span class="{" ".join(classes)}">{segment}</span>' if classes else segment)

    for match in _SEQUENCE.finditer(escaped):
        emit(escaped[position : match.start()])
        position = match.end()
        if match.group(2) == "m":
            state.apply(match.group(1))
    emit(escaped[position:])
    return mark_safe("".join(parts))  # noqa: S308 — built only from escaped text and fixed class names


def ansi_strip(text: str) -> str:
    return _CONTROL.sub("", _SEQUENCE.sub("", text))
