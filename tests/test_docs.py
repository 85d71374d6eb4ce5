"""Every ```python block of README.md and docs/*.md runs (each in a fresh namespace, in a
temporary directory) and checks what it claims, so the documentation cannot drift from the code.

A block checks its claims with ``assert`` statements (or ``np.testing.assert_*``), or with a
``# prints: TEXT`` comment on a ``print(...)`` statement or alone on the line after it: the
test compares what that statement printed with TEXT (runs of whitespace count as one space;
``...`` stands for any text, as in doctest). Every block must check something, and a comment
that shows a value on a ``print`` line must be such a checked ``# prints:`` comment."""
import ast
import builtins
import glob
import io
import os
import re
import sys
import tokenize

import pytest

import gkeras

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
BLOCKS = [(os.path.relpath(page, ROOT), i, code)
          for page in PAGES
          for i, code in enumerate(re.findall(r"```python\n(.*?)```", open(page).read(), re.S))]
IDS = [f"{p}#{i}" for p, i, _ in BLOCKS]


PRINTS = "prints:"
# a comment on a print line that shows a value rather than explaining: it must be checked
VALUE_COMMENT = re.compile(r"""^(-?\d|[(\[{'"]|True\b|False\b|None\b|about\b|~)""")


def comments(code):
    """``{line: text}`` of the comments in ``code`` (without the ``#``)."""
    tokens = tokenize.generate_tokens(io.StringIO(code).readline)
    return {t.start[0]: t.string[1:].strip() for t in tokens if t.type == tokenize.COMMENT}


def print_calls(tree):
    """``[(first_line, last_line)]`` of the ``print(...)`` calls in ``tree``."""
    return [(node.lineno, node.end_lineno) for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "print"]


def expected_prints(code):
    """``{(first_line, last_line): expected}`` for each print call with a ``# prints:``
    comment on one of its lines or alone on the line after it."""
    calls = print_calls(ast.parse(code))
    lines = code.splitlines()
    out = {}
    for line, text in comments(code).items():
        if not text.startswith(PRINTS):
            continue
        alone = lines[line - 1].lstrip().startswith("#")
        spans = [span for span in calls if span[0] <= line <= span[1]
                 or alone and span[1] == line - 1]
        assert spans, f"line {line}: a '# prints:' comment that follows no print call"
        out[spans[-1]] = text[len(PRINTS):].strip()
    return out


def matches(printed, expected):
    printed, expected = " ".join(printed.split()), " ".join(expected.split())
    pattern = ".*".join(re.escape(part) for part in expected.split("..."))
    return re.fullmatch(pattern, printed, re.S) is not None


def has_check(code):
    tree = ast.parse(code)
    if any(isinstance(node, ast.Assert) for node in ast.walk(tree)):
        return True
    if any(isinstance(node, ast.Attribute) and node.attr.startswith("assert_")
           for node in ast.walk(tree)):
        return True
    return any(text.startswith(PRINTS) for text in comments(code).values())


def run_block(page, index, code):
    """Execute a block; return ``{line: [printed text, ...]}`` for its own print calls."""
    filename = f"{page} block {index}"
    printed = {}

    def recording_print(*args, sep=" ", end="\n", file=None, flush=False):
        caller = sys._getframe(1)
        if file is None and caller.f_code.co_filename == filename:
            buffer = io.StringIO()
            builtins.print(*args, sep=sep, end="", file=buffer)
            printed.setdefault(caller.f_lineno, []).append(buffer.getvalue())
        builtins.print(*args, sep=sep, end=end, file=file, flush=flush)

    namespace = {"__name__": "__doc_example__", "print": recording_print}
    exec(compile(code, filename, "exec"), namespace)
    return printed


@pytest.mark.parametrize("page,index,code", BLOCKS, ids=IDS)
def test_documentation_example_runs_and_prints_what_it_says(page, index, code, tmp_path,
                                                            monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    gkeras.backend.clear_session()
    printed = run_block(page, index, code)
    for (first, last), expected in expected_prints(code).items():
        outputs = [text for line, texts in printed.items() if first <= line <= last
                   for text in texts]
        assert outputs, f"line {first}: this print never ran"
        for text in outputs:
            assert matches(text, expected), (
                f"{page} block {index}, line {first}: printed {text!r}, the page says "
                f"{expected!r}")


@pytest.mark.parametrize("page,index,code", BLOCKS, ids=IDS)
def test_documentation_example_checks_its_claims(page, index, code):
    block = f"{page}#{index}"
    assert has_check(code), (f"{block} checks nothing: end it with asserts or mark what a "
                             "print shows with '# prints: ...'")
    calls = print_calls(ast.parse(code))
    for line, text in comments(code).items():
        on_print = any(first <= line <= last for first, last in calls)
        if on_print and not text.startswith(PRINTS) and VALUE_COMMENT.match(text):
            pytest.fail(f"{block}, line {line}: '# {text}' shows a value nobody compares; "
                        "write '# prints: ...' or an assert")


def test_the_checker_compares_values():
    code = 'x = 2\nprint(x + 1)  # prints: 4\n'
    printed = run_block("self-test", 0, code)
    ((span, expected),) = expected_prints(code).items()
    assert printed == {2: ["3"]} and span == (2, 2) and not matches("3", expected)
    code = 'for i in range(2):\n    print(i,\n          i)\n# prints: 1 1\n'
    printed = run_block("self-test", 1, code)
    assert expected_prints(code) == {(2, 3): "1 1"}
    assert [text for texts in printed.values() for text in texts] == ["0 0", "1 1"]
    assert matches("0.17541 and [1 2]", "0.1754... and [1  2]")
    assert not matches("0.2754", "0.1754...")
    assert not has_check("print(1)  # 1\n") and has_check("assert True\n")


def test_every_page_but_the_benchmark_log_has_an_example():
    covered = {page for page, _, _ in BLOCKS}
    expected = {os.path.relpath(p, ROOT) for p in PAGES} - {os.path.join("docs", "performance.md")}
    assert covered == expected
