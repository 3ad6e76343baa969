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
            if code in (38, 48):
                # 256-colour and true-colour forms: not rendered; skip their arguments so they are
                # not misread as other codes.
                mode = codes[index + 1] if index + 1 < len(codes) else None
                index += {5: 2, 2: 4}.get(mode, 0)
            else:
                self._apply_one(code)
            index += 1

    def _apply_one(self, code: int) -> None:
        if code == 0:
            self.fg = self.bg = None
            self.bold = False
        elif code in (1, 22):
            self.bold = code == 1
        elif code in (39, 49):
            setattr(self, "fg" if code == 39 else "bg", None)
        else:
            self._apply_colour(code)

    def _apply_colour(self, code: int) -> None:
        for first, attribute, prefix in ((30, "fg", ""), (90, "fg", "bright-"), (40, "bg", ""), (100, "bg", "bright-")):
            if first <= code <= first + 7:
                setattr(self, attribute, f"{prefix}{COLOURS[code - first]}")
                return


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
