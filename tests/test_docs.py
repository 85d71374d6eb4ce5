"""Every ```python block of README.md and docs/*.md runs (each in a fresh namespace, in a
temporary directory), so the documentation cannot drift from the code."""
import glob
import os
import re

import pytest

import gkeras

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
BLOCKS = [(os.path.relpath(page, ROOT), i, code)
          for page in PAGES
          for i, code in enumerate(re.findall(r"```python\n(.*?)```", open(page).read(), re.S))]


@pytest.mark.parametrize("page,index,code", BLOCKS, ids=[f"{p}#{i}" for p, i, _ in BLOCKS])
def test_documentation_example_runs(page, index, code, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    gkeras.backend.clear_session()
    exec(compile(code, f"{page} block {index}", "exec"), {"__name__": "__doc_example__"})


def test_every_page_but_the_benchmark_log_has_an_example():
    covered = {page for page, _, _ in BLOCKS}
    expected = {os.path.relpath(p, ROOT) for p in PAGES} - {os.path.join("docs", "performance.md")}
    assert covered == expected
