"""The house rules that keep the library easy to extend: imports run one way and importing does nothing."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "infogan_tf"

ARCHITECTURE = REPO / "docs" / "architecture.md"
MAP_ROW = re.compile(r"^\| (?P<floor>\d+) \| `(?P<path>infogan_tf/[^`]+\.py)` \| (?P<house>\w+) \|")


def floors_from_the_architecture_page() -> dict[str, int]:
    """Each module's floor, as the module map of docs/architecture.md gives it: the one place it is written."""
    rows = [MAP_ROW.match(line) for line in ARCHITECTURE.read_text().splitlines()]
    return {module_name(REPO / row["path"]): int(row["floor"]) for row in rows if row}


def module_name(path: Path) -> str:
    """``a.b`` for ``infogan_tf/a/b.py``; a package's ``__init__.py`` is the package, ``a``."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def library_modules() -> dict[str, Path]:
    """Every module, and every subpackage whose ``__init__`` imports (a facade is ranked like a module)."""
    return {
        module_name(p): p
        for p in PACKAGE.rglob("*.py")
        if p.name != "__init__.py" or (p.parent != PACKAGE and runtime_imports(p))
    }


def runtime_imports(path: Path) -> set[str]:
    """infogan_tf modules imported outside ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text())
    skipped = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and getattr(block.test, "id", None) == "TYPE_CHECKING"
        for node in ast.walk(block)
    }
    found = set()
    for node in ast.walk(tree):
        if (
            id(node) in skipped
            or not isinstance(node, ast.ImportFrom)
            or not (node.module or "").startswith("infogan_tf")
        ):
            continue
        prefix = node.module.removeprefix("infogan_tf").lstrip(".")
        for alias in node.names:  # ``from infogan_tf.pkg import module`` imports the module
            inner = f"{prefix}.{alias.name}" if prefix else alias.name
            submodule = PACKAGE.joinpath(*inner.split(".")).with_suffix(".py").is_file()
            found.add(inner if submodule or (PACKAGE / inner.replace(".", "/")).is_dir() else prefix)
    return found


def houses_from_the_architecture_page() -> dict[str, str]:
    rows = [MAP_ROW.match(line) for line in ARCHITECTURE.read_text().splitlines()]
    return {module_name(REPO / row["path"]): row["house"] for row in rows if row}


def test_the_port_names_nothing_beyond_the_paper():
    houses = houses_from_the_architecture_page()
    assert set(houses.values()) == {"port", "beyond", "assembly"}
    crossings = {
        (name, imported)
        for name, path in library_modules().items()
        if houses[name] == "port"
        for imported in runtime_imports(path)
        if houses.get(imported) == "beyond"
    }
    assert not crossings


CORE = ("distributions", "latent_spec", "networks", "models", "losses", "optimizers", "terms", "step", "trainer")
"""The paper's port proper: what the original code defines, less the machinery around it."""

BEYOND_WORDS = re.compile(r"invariance|overcluster|restart|preset|reuse_fake_batch|info_reg_warmup|warm-up", re.I)


def test_the_core_does_not_even_mention_what_goes_beyond_the_paper():
    named = {
        (name, match.group(0)) for name in CORE for match in BEYOND_WORDS.finditer((PACKAGE / f"{name}.py").read_text())
    }
    assert not named


def test_every_module_has_a_floor_and_imports_only_from_below():
    modules, floors = library_modules(), floors_from_the_architecture_page()
    assert set(modules) == set(floors), "give every module a row in docs/architecture.md's module map"
    upward = [
        f"{name} imports {imported}"
        for name, path in modules.items()
        for imported in runtime_imports(path)
        if imported in floors and floors[imported] >= floors[name]
    ]
    assert not upward


def run_python(code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "MPLBACKEND")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)


def test_importing_a_lower_floor_loads_nothing_above_it_and_changes_nothing():
    result = run_python(
        "import os, sys\n"
        "import infogan_tf.distributions\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('infogan_tf'))\n"
        "assert loaded == ['infogan_tf', 'infogan_tf.distributions'], loaded\n"
        "assert 'TF_CPP_MIN_LOG_LEVEL' not in os.environ\n"
        "import infogan_tf\n"
        "assert infogan_tf.load.__module__ == 'infogan_tf.checkpoints'\n"
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_importing_the_evaluation_leaves_matplotlib_s_backend_alone():
    result = run_python(
        "import matplotlib\n"
        "before = dict.__getitem__(matplotlib.rcParams, 'backend')\n"
        "import infogan_tf.evaluation.report\n"
        "after = dict.__getitem__(matplotlib.rcParams, 'backend')\n"
        "assert after == before, (before, after)\n"
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_no_library_module_reads_or_defines_a_flag():
    """Flags live in the command layer (launchers/); the library takes configs."""
    readers = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            imported = (
                [a.name for a in node.names]
                if isinstance(node, ast.ImportFrom) and node.module == "absl"
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if "flags" in imported or "absl.flags" in imported or (isinstance(node, ast.Name) and node.id == "FLAGS"):
                readers.append(module_name(path))
    assert not readers


def test_importing_the_whole_library_defines_no_flag():
    result = run_python(
        "import importlib, pkgutil\n"
        "from absl import flags\n"
        "import infogan_tf\n"
        "names = [m.name for m in pkgutil.walk_packages(infogan_tf.__path__, 'infogan_tf.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "assert 'infogan_tf.experiment' in names and len(names) > 20, names\n"
        "ours = [m for m in flags.FLAGS.flags_by_module_dict() if m.startswith('infogan_tf')]\n"
        "assert not ours, ours\n"
        "import infogan_tf_launchers.command\n"
        "assert 'infogan_tf_launchers.flag_definitions' in flags.FLAGS.flags_by_module_dict()\n"
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_an_installed_copy_holds_every_package():
    """``setup.py`` lists each package of the library (a non-editable install has only those)."""
    result = run_python(
        "import setuptools, runpy\n"
        "seen = {}\n"
        "setuptools.setup = lambda **kwargs: seen.update(kwargs)\n"
        f"runpy.run_path({str(REPO / 'setup.py')!r})\n"
        "print(' '.join(seen['packages']))\n"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    wanted = {".".join(("infogan_tf", *p.parent.relative_to(PACKAGE).parts)) for p in PACKAGE.rglob("__init__.py")}
    assert set(result.stdout.split()) == {*wanted, "infogan_tf_launchers"}
