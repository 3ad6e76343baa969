"""The API modules import in any order: DRF's settings import the body parser while rest_framework.views loads,
so a process whose first import is one of these (a worker, a management command) must not find it half made."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "module", ["apps.core.api", "apps.core.parsers", "apps.automation.deliveries", "apps.executions.api"]
)
def test_an_api_module_imports_first_in_a_fresh_process(module):
    code = f"import django; django.setup(); import {module}"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=os.environ.copy(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
