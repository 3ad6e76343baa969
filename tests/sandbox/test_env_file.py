"""The env file a step's variables travel in (apps.sandbox.spec.env_file): every value comes out of the
shell exactly as it went in, and a name the shell cannot export is refused with a clear message."""

import subprocess

import pytest

from apps.sandbox.spec import InvalidEnvironment, env_file

AWKWARD = [
    "plain",
    "",
    "it's quoted 'twice'",
    'double "quotes" and \\ backslashes',
    "$(touch /tmp/never) `id` ${HOME} $HOME",
    "line one\nline two\n",
    "tabs\tand * globs ? [a-z]",
    "ünïcödé ✓",
    "'",
    "'\\''",
]


@pytest.mark.parametrize("value", AWKWARD)
def test_a_value_survives_the_shell_byte_for_byte(tmp_path, value):
    path = tmp_path / "env"
    path.write_text(env_file({"RB_PARAM_X": value}), encoding="utf-8")
    result = subprocess.run(
        ["/bin/sh", "-c", f'set -a; . "{path}"; set +a; printf "%s" "$RB_PARAM_X"'],
        capture_output=True,
        check=True,
    )
    assert result.stdout.decode("utf-8") == value


def test_values_are_exported_to_the_script(tmp_path):
    path = tmp_path / "env"
    path.write_text(env_file({"FIRST": "1", "SECOND": "two words"}), encoding="utf-8")
    result = subprocess.run(
        ["/bin/sh", "-c", f'set -a; . "{path}"; set +a; exec /bin/sh -c \'printf "%s|%s" "$FIRST" "$SECOND"\''],
        capture_output=True,
        check=True,
    )
    assert result.stdout == b"1|two words"


@pytest.mark.parametrize("name", ["1ABC", "A-B", "A B", "ÄNDERN", "", "A=B", "A;touch /tmp/x"])
def test_a_name_the_shell_cannot_export_is_refused(name):
    with pytest.raises(InvalidEnvironment, match="not a valid shell name"):
        env_file({name: "value"})


def test_a_nul_in_a_value_is_refused():
    with pytest.raises(InvalidEnvironment, match="NUL"):
        env_file({"NAME": "a\x00b"})
