"""The collector of the documentation's examples: what it runs and how it compares."""

from __future__ import annotations

import pytest

from .docs_examples import DocsError, examples, matches

PAGE = """\
Intro.

```bash
mfb weights sample_masks --void 11 -f list
```

```text title="output"
[1.0]
```

```text title="stderr"
warning: x
```

<!-- example: exit 2 -->
<!-- example: s3 -->
```bash
mfb weights s3://bucket/x
```

- In a list:

    ```python
    print("hi")
    ```

    ```text title="output"
    hi
    ```

````markdown
```bash
not collected: inside a Markdown example
```
````

<!-- example: skip needs an account -->
```bash
mfb weights gs://b/x
```

<!-- example: needs ruff -->
```bash
ruff check .
```

```json
{"not": "run"}
```
"""


def test_runnable_blocks_with_their_outputs_and_directives():
    found = examples(PAGE, "page.md")
    assert [(e.fence.line, e.kind) for e in found] == [
        (3, "shell"),
        (17, "shell"),
        (23, "python"),
        (38, "shell"),
        (43, "shell"),
    ]
    first, s3, python, skipped, needs = found
    assert first.fence.text == "mfb weights sample_masks --void 11 -f list\n"
    assert first.stdout is not None and first.stdout.text == "[1.0]\n"
    assert first.stderr is not None and first.stderr.text == "warning: x\n"
    assert (s3.exit_code, s3.s3, s3.stdout) == (2, True, None)
    assert python.fence.text == 'print("hi")\n'
    assert python.stdout is not None and python.stdout.text == "hi\n"
    assert skipped.skip == "needs an account"
    assert needs.needs == ("ruff",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("```console\n$ mfb\n```\n", "cannot be run as written"),
        ('```text title="output"\nx\n```\n', "follows no bash or python"),
        ("<!-- example: skip -->\n```bash\nmfb\n```\n", "needs a reason"),
        ("<!-- example: nonsense -->\n```bash\nmfb\n```\n", "unknown example directive"),
        ("<!-- example: exit 1 -->\n```text\nmfb\n```\n", "directives on a ```text"),
        ("```bash\nmfb\n", "never closes"),
        (
            '```bash\nmfb\n```\n\n```text title="output"\na\n```\n\n'
            '```text title="output"\nb\n```\n',
            "a second output",
        ),
    ],
)
def test_broken_conventions_are_named(text, message):
    with pytest.raises(DocsError, match=message):
        examples(text, "page.md")


def test_outputs_compare_byte_for_byte_with_an_ellipsis_line_for_any_lines():
    assert matches("a\nb\n", "a\nb\n")
    assert not matches("a\nb\n", "a\nb")
    assert not matches("a\nb\n", "a\nb \n")
    assert matches("a\n...\nd\n", "a\nb\nc\nd\n")
    assert matches("a\n...\nd\n", "a\nd\n")
    assert not matches("a\n...\nd\n", "a\nb\nc\n")
    assert not matches("a\n...\nd\n", "x\nd\n")
    assert matches("{\n...\n}\n", "{\n  1\n}\n")
    assert not matches("a...b\n", "a12b\n")  # only a line of its own stands for lines
