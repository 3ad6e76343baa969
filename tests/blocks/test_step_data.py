"""Data between steps for command containers: RB_STEP_* variables and the outputs file."""

import pytest

from apps.blocks.executors.step_data import OutputsError, parse_outputs_file, step_env


def test_step_env_names_each_earlier_step():
    env = step_env(
        {
            "check-db": {"status": "succeeded", "exit_code": 0},
            "api_call": {"status": "failed", "exit_code": None},
        }
    )
    assert env == {
        "RB_STEP_CHECK_DB_STATUS": "succeeded",
        "RB_STEP_CHECK_DB_EXIT_CODE": "0",
        "RB_STEP_API_CALL_STATUS": "failed",
    }


def test_outputs_are_name_value_lines():
    text = "version=1.2.3\n\nurl=https://x.example/a?b=c=d\nempty=\nversion=1.2.4\n"
    assert parse_outputs_file(text) == {"version": "1.2.4", "url": "https://x.example/a?b=c=d", "empty": ""}


def test_an_empty_file_publishes_nothing():
    assert parse_outputs_file("") == {}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("just text\n", "line 1: expected name=value"),
        ("ok=1\n1abc=2\n", "line 2: '1abc' is not a valid name"),
        ("bad-name=1\n", "line 1: 'bad-name' is not a valid name"),
        ("=value\n", "line 1: '' is not a valid name"),
        ("big=" + "x" * (64 * 1024 + 1) + "\n", "line 1: the value of big is 65,537 bytes; the limit is 65,536"),
        ("".join(f"v{number}=1\n" for number in range(101)), "101 values; at most 100 may be published"),
    ],
)
def test_bad_outputs_are_reported_by_line(text, problem):
    with pytest.raises(OutputsError) as caught:
        parse_outputs_file(text)
    assert any(reported.startswith(problem) for reported in caught.value.problems), caught.value.problems


def test_every_bad_line_is_reported_at_once():
    with pytest.raises(OutputsError) as caught:
        parse_outputs_file("a=1\nnope\n2x=3\n")
    assert [problem.split(":")[0] for problem in caught.value.problems] == ["line 2", "line 3"]


def test_exactly_100_values_of_64_kib_are_accepted():
    text = "".join(f"v{number}={'x' * 64 * 1024}\n" for number in range(100))
    assert len(parse_outputs_file(text)) == 100
