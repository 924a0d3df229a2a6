"""Every launcher command that the README and docs/ show still parses: its flags exist and their values pass.

The commands are read from the pages themselves (code blocks and inline code), so a flag
renamed or removed in the code fails here until the page says what now works. Placeholders
such as ``NAME`` or ``<run>/<run>-5000`` are only strings to the parser. Training itself
is smoke-run by the launcher tests; here each command is parsed in one subprocess, through
the same flag set, presets and validators a launcher uses (the ablation table through its
own parser).
"""

import json
import re
import shlex
import subprocess
import sys

from conftest import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
COMMAND = re.compile(r"launchers/(?P<script>[a-z_]+)\.py(?P<args>(?:[ \t]+(?:--|[a-z<.])[^ \t\n`|]*)*)")


def documented_commands() -> list[tuple[str, str, list[str]]]:
    """(page, script, arguments) of every ``launchers/<script>.py ...`` the pages show."""
    found = []
    for page in PAGES:
        text = re.sub(r"\\\n\s*", " ", page.read_text())  # a shell line continued with a backslash
        for match in COMMAND.finditer(text):
            if match["script"] != "command":  # the shared module, not a command
                found.append((page.name, match["script"], shlex.split(match["args"])))
    return found


CHECK = r"""
import json, sys
sys.path.insert(0, "launchers")
from absl import flags
from infogan_tf_launchers import command
import ablation_table

problems = []
for page, script, args in json.load(sys.stdin):
    try:
        if script == "ablation_table":
            ablation_table.make_parser().parse_args(args)
            continue
        preset = command.preset_named_in(["prog", *args])
        defaults = {name: command.FLAGS[name].default for name in command.FIELD_OF_FLAG}
        for name, value in (command.preset_flags(preset) if preset else {}).items():
            command.FLAGS[name].default = value  # as launch() does; validated when parsed
        try:
            command.FLAGS.unparse_flags()
            command.FLAGS(["prog", *args])
        finally:
            for name, value in defaults.items():
                command.FLAGS[name].default = value
    except (flags.Error, SystemExit) as e:
        problems.append(f"{page}: launchers/{script}.py {' '.join(args)}: {e}")
print(json.dumps(problems))
"""


def test_the_pages_show_commands_of_every_kind():
    scripts = {script for _, script, _ in documented_commands()}
    assert {"run_mnist_exp", "evaluate", "sample", "export", "ablation_table"} <= scripts
    assert len(documented_commands()) > 30


def test_every_documented_launcher_command_parses():
    commands = documented_commands()
    result = subprocess.run(
        [sys.executable, "-c", CHECK],
        input=json.dumps(commands),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    problems = json.loads(result.stdout.splitlines()[-1])
    assert problems == [], "\n".join(problems)


def test_a_bad_flag_in_a_page_would_be_found():
    """The check itself: a misspelled flag and a bad value are reported, a good command is not."""
    commands = [
        ("x.md", "run_mnist_exp", ["--batch_sise=8"]),
        ("x.md", "run_mnist_exp", ["--seeds=0,0"]),
        ("x.md", "evaluate", ["--exp_name=ok", "--seeds=0,1"]),
        ("x.md", "ablation_table", ["--per_seed=a,b", "--no_such_option"]),
    ]
    result = subprocess.run(
        [sys.executable, "-c", CHECK], input=json.dumps(commands), capture_output=True, text=True, timeout=300, cwd=REPO
    )
    problems = json.loads(result.stdout.splitlines()[-1])
    assert len(problems) == 3 and "batch_sise" in problems[0] and "seeds" in problems[1]
    assert "ablation_table" in problems[2]
