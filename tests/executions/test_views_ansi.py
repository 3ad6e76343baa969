"""The ANSI converter of output panes: HTML escaped first, basic colours and bold as spans, other
sequences dropped, other control characters shown."""

import pytest

from apps.executions.ansi import ansi_strip, ansi_to_html


def test_html_in_output_is_escaped():
    assert ansi_to_html("<script>alert('x')</script> & \"q\"") == (
        "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;q&quot;"
    )


def test_markup_inside_a_coloured_span_is_escaped_too():
    assert ansi_to_html("\x1b[31m<img src=x onerror=alert(1)>\x1b[0m") == (
        '<span class="ansi-red">&lt;img src=x onerror=alert(1)&gt;</span>'
    )


@pytest.mark.parametrize(
    ("code", "css"),
    [(30, "ansi-black"), (31, "ansi-red"), (32, "ansi-green"), (33, "ansi-yellow"), (34, "ansi-blue"),
     (35, "ansi-magenta"), (36, "ansi-cyan"), (37, "ansi-white"), (91, "ansi-bright-red"),
     (97, "ansi-bright-white"), (41, "ansi-bg-red"), (104, "ansi-bg-bright-blue")],
)  # fmt: skip
def test_the_16_basic_colours_become_classes(code, css):
    assert ansi_to_html(f"\x1b[{code}mX\x1b[0m") == f'<span class="{css}">X</span>'


def test_bold_and_colour_combine_and_reset_ends_them():
    assert ansi_to_html("\x1b[1;32mok\x1b[0m done") == '<span class="ansi-bold ansi-green">ok</span> done'


def test_partial_resets_end_only_their_attribute():
    assert ansi_to_html("\x1b[1;31ma\x1b[39mb\x1b[22mc") == (
        '<span class="ansi-bold ansi-red">a</span><span class="ansi-bold">b</span>c'
    )


def test_256_and_true_colour_are_stripped_without_misreading_their_arguments():
    # 38;5;1 must not turn into "bold" (1) or 38;2;31;... into "red" (31).
    assert ansi_to_html("\x1b[38;5;1mA\x1b[38;2;31;32;33mB\x1b[0m") == "AB"


@pytest.mark.parametrize(
    "sequence",
    [
        "\x1b[2K",
        "\x1b[1A",
        "\x1b[?25l",
        "\x1b]0;title\x07",
        "\x1b]8;;http://evil\x1b\\",
        "\x1bc",
        "\x1b(B",
        "\x1b7",
    ],
)
def test_other_sequences_are_stripped(sequence):
    assert ansi_to_html(f"a{sequence}b") == "ab"


@pytest.mark.parametrize(
    ("char", "symbol"),
    [("\x07", "\u2407"), ("\x08", "\u2408"), ("\r", "\u240d"), ("\x01", "\u2401"), ("\x7f", "\u2421"),
     ("\u200b", "U+200B"), ("\x85", "U+0085")],
)  # fmt: skip
def test_other_control_characters_are_shown_so_nothing_is_joined(char, symbol):
    # Dropping them would join "a" and "b": a secret printed with one inside would read whole (issue 12).
    code = ord(char)
    assert ansi_to_html(f"a{char}b") == f'a<span class="ansi-control" title="U+{code:04X}">{symbol}</span>b'


def test_a_carriage_return_ending_a_line_is_just_a_line_end():
    assert ansi_to_html("a\r\nb\r\n") == "a\nb\n"


def test_tabs_and_newlines_are_kept():
    assert ansi_to_html("a\tb\nc") == "a\tb\nc"


def test_plain_text_passes_through_and_strip_removes_everything():
    assert ansi_to_html("plain") == "plain"
    assert ansi_strip("\x1b[1;31mred\x1b[0m\x1b]0;t\x07") == "red"


def test_a_colour_left_open_is_closed_at_the_end():
    assert ansi_to_html("\x1b[33mwarn") == '<span class="ansi-yellow">warn</span>'
