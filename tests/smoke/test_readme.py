"""The README's integration examples, run verbatim with bash against `make run`.

Only the address changes (the served directory listens on a free port, not 5000); the commands
run from the repository root with the instance's environment and without `.venv/bin` on the PATH,
as in a newcomer's second terminal.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from tests import served
from tests.smoke.conftest import Visitor

pytestmark = [pytest.mark.smoke, pytest.mark.slow]

README = served.ROOT / "README.md"
README_URL = "http://127.0.0.1:5000"
SH_BLOCK = re.compile(r"```sh\n(.*?)```", re.S)


def integration_examples() -> str:
    """The shell blocks of the README's "Integrations" section, joined."""
    text = README.read_text()
    section = text.split("\n## Integrations\n", 1)[1].split("\n## ", 1)[0]
    blocks = SH_BLOCK.findall(section)
    assert blocks, "the Integrations section has no ```sh block"
    return "\n".join(blocks)


def test_the_integration_examples_work_as_written(directory: served.ServedDirectory) -> None:
    script = integration_examples()
    assert README_URL in script and "PATCH" in script
    written = re.search(r"""-d '(\{"summary".*?\})'""", script)
    assert written, "the example PATCH changes no summary"
    summary = json.loads(written.group(1))["summary"]
    assert Visitor(directory).team("payroll")[0]["summary"] != summary

    env = dict(directory.env)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if os.path.realpath(p) != os.path.realpath(served.VENV_BIN))
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script.replace(README_URL, directory.url)],
                            cwd=served.ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"

    assert "Payroll" in result.stdout  # the auto-reply, in text
    answers = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert {"total", "results"} <= answers[0].keys()  # the search
    assert {"open", "reply_by"} <= answers[1].keys()  # the status
    assert answers[-1]["summary"] == summary  # the PATCH's answer
    assert Visitor(directory).team("payroll")[0]["summary"] == summary
