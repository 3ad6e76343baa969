"""The one Markdown renderer: task lists, sanitising, and the plain excerpt of the runbook list."""

from apps.core.markdown import markdown_excerpt, render_markdown


def test_a_task_list_renders_disabled_checkboxes_with_their_text_as_label():
    html = render_markdown("- [ ] posted in #incidents\n- [x] paged the DBA\n")
    assert "[ ]" not in html and "[x]" not in html
    assert html.count('type="checkbox"') == 2
    assert html.count('disabled="disabled"') == 2
    assert html.count('checked="checked"') == 1
    assert "<label><input" in html and "posted in #incidents</label>" in html


def test_raw_html_inputs_are_shown_as_text_never_as_controls():
    html = render_markdown('<input type="text" name="x" onfocus="alert(1)"> <label for=x>x</label>')
    assert "<input" not in html and "<label" not in html
    assert "&lt;input" in html


def test_the_excerpt_is_the_leading_prose_without_the_table_cells():
    source = (
        "When **p95 latency** alarms fire.\n\n| host | port |\n|---|---|\n| db1 | 5432 |\n\n## Impact\nPayments fail"
    )
    excerpt = markdown_excerpt(source)
    assert excerpt == "When p95 latency alarms fire. Impact. Payments fail."
    assert "db1" not in excerpt and "5432" not in excerpt and "host" not in excerpt


def test_the_excerpt_leaves_out_code_and_is_cut_at_a_word():
    excerpt = markdown_excerpt("Restart it:\n\n```\nsystemctl restart payments\n```\n\n" + "word " * 60, limit=50)
    assert "systemctl" not in excerpt
    assert len(excerpt) <= 50 and excerpt.endswith("…") and not excerpt.endswith(" …")
    assert excerpt.startswith("Restart it: word word")
