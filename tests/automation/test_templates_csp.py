"""The CSP forbids inline code and styles: automation's templates must carry none, or the browser drops them."""

import re
from pathlib import Path

import pytest

TEMPLATES = sorted((Path(__file__).resolve().parents[2] / "templates" / "automation").rglob("*.html"))
INLINE = re.compile(r"""\s(style|on[a-z]+)\s*=|<script(?![^>]*\ssrc=)[^>]*>|javascript:""", re.IGNORECASE)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_it_carries_no_inline_style_handler_or_script(template):
    found = [match.group(0).strip() for match in INLINE.finditer(template.read_text())]
    assert found == [], f"{template.name}: {found}"


def test_it_found_the_templates():
    assert len(TEMPLATES) >= 5
