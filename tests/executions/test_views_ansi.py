"""The ANSI converter of output panes: HTML escaped first, basic colours and bold as spans, the rest dropped."""

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
        "\x07",
        "\x08",
        "\r",
    ],
)
def test_other_sequences_and_control_characters_are_stripped(sequence):
    assert ansi_to_html(f"a{sequence}b") == "ab"


def test_tabs_and_newlines_are_kept():
    assert ansi_to_html("a\tb\nc") == "a\tb\nc"


def test_plain_text_passes_through_and_strip_removes_everything():
    assert ansi_to_html("plain") == "plain"
    assert ansi_strip("\x1b[1;31mred\x1b[0m\x1b]0;t\x07") == "red"


def test_a_colour_left_open_is_closed_at_the_end():
    assert ansi_to_html("\x1b[33mwarn") == '<span class="ansi-yellow">warn</span>'
