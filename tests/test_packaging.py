"""The package as a newcomer gets it: the docs extra, the sdist and the wheel.

* The documentation build imports only what the ``docs`` extra installs (with
  the package's own dependencies): the gallery's examples, the Sphinx
  extensions and the theme. (``examples/plot_linear_vs_mlp.py`` imported
  pandas, which the ``docs`` extra lacks: the documented build failed.)
* setuptools builds a source archive and a wheel from the files a checkout
  holds; the wheel, installed on its own, runs ``sk-gradopt compare``.
"""

import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
tomllib = pytest.importorskip("tomllib")  # Python 3.11+


def _name(requirement):
    """The normalized distribution name of a requirement such as ``dask[array]>=2024.1``."""
    name = re.match(r"[A-Za-z0-9._-]+", requirement).group(0)
    return re.sub(r"[-_.]+", "-", name).lower()


def _project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _top_level_imports(path):
    """The top-level modules that a Python file imports (absolute imports only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _docs_build_modules():
    """The modules the docs build imports: examples, Sphinx extensions, the theme."""
    modules = {}
    for example in sorted((ROOT / "examples").glob("*.py")):
        for name in _top_level_imports(example):
            modules.setdefault(name, example.name)
    conf = ast.parse((ROOT / "docs" / "conf.py").read_text(encoding="utf-8"))
    for node in conf.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id == "extensions":
                for extension in ast.literal_eval(node.value):
                    modules.setdefault(extension.split(".")[0], "conf.py extensions")
            elif node.targets[0].id == "html_theme":
                modules.setdefault(ast.literal_eval(node.value), "conf.py html_theme")
    own = {"sk_gradopt", "gallery_order", "conf"}
    return {name: where for name, where in modules.items()
            if name not in sys.stdlib_module_names and name not in own}


def test_the_docs_extra_installs_what_the_docs_build_imports():
    project = _project()
    allowed = {_name(r) for r in project["dependencies"]}
    allowed |= {_name(r) for r in project["optional-dependencies"]["docs"]}
    distributions = importlib.metadata.packages_distributions()
    modules = _docs_build_modules()
    assert {"matplotlib", "sklearn", "numpy", "sphinx_gallery", "pydata_sphinx_theme"} <= set(
        modules)  # the scan finds the imports
    for module, where in sorted(modules.items()):
        provided = {_name(d) for d in distributions.get(module, [])}
        assert provided, f"{where} imports {module}, which no installed distribution provides"
        assert provided & allowed, (
            f"{where} imports {module} (from {sorted(provided)}), which neither the "
            "dependencies nor the docs extra of pyproject.toml install"
        )


def test_the_test_extra_builds_the_docs_too():
    # tests/test_docs.py builds the documentation: the test extra holds the docs extra
    extras = _project()["optional-dependencies"]
    test = {_name(r) for r in extras["test"]}
    missing = {_name(r) for r in extras["docs"]} - test
    assert not missing - {"dask"}, missing  # the test extra has dask[distributed]
    assert "dask" in test


def test_gpu_extras_for_each_cuda_major_version():
    extras = _project()["optional-dependencies"]
    assert [_name(r) for r in extras["cupy-cuda12"]] == ["cupy-cuda12x"]
    assert [_name(r) for r in extras["cupy-cuda13"]] == ["cupy-cuda13x"]
    assert extras["cupy"] == extras["cupy-cuda12"]  # the historical name still works


# ------------------------------------------------------------ sdist and wheel


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The sdist and the wheel that setuptools builds from a copy of the checkout."""
    setuptools = pytest.importorskip("setuptools")
    major = int(setuptools.__version__.split(".")[0])
    if major < 77:
        pytest.skip(f"setuptools {setuptools.__version__} is older than the 77 that "
                    "pyproject.toml's build-system requires")
    tmp = tmp_path_factory.mktemp("package")
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "sk_gradopt", source / "sk_gradopt",
                    ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    dist = tmp / "dist"
    built = []
    for hook in ("build_sdist", "build_wheel"):  # one process each, as build runs them
        script = f"import sys; from setuptools import build_meta; print('built:', build_meta.{hook}(sys.argv[1]))"
        result = subprocess.run([sys.executable, "-c", script, str(dist)], cwd=source,
                                capture_output=True, text=True, timeout=300, check=False)
        assert result.returncode == 0, result.stderr[-3000:]
        (line,) = [line for line in result.stdout.splitlines() if line.startswith("built:")]
        built.append(line.split()[1])
    sdist, wheel = built
    return tmp, dist / sdist, dist / wheel


def test_the_sdist_holds_the_sources_the_readme_and_the_license(built):
    _, sdist, _ = built
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"pyproject.toml", "README.md", "LICENSE", "PKG-INFO", "sk_gradopt/__init__.py",
            "sk_gradopt/cli/__init__.py", "sk_gradopt/cli/folds.py"} <= names


def test_the_wheel_metadata_and_contents(built):
    _, _, wheel = built
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(f"{info}/METADATA").decode()
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "sk_gradopt").rglob("*.py")}
    assert modules <= names  # every module of the package, the subpackages included
    assert f"{info}/licenses/LICENSE" in names
    assert "License-Expression: BSD-3-Clause" in metadata
    assert "Description-Content-Type: text/markdown" in metadata
    assert "# sk_gradopt" in metadata  # the README is the long description
    for extra in ("plot", "csv", "cupy", "cupy-cuda12", "cupy-cuda13", "docs", "test"):
        assert f"Provides-Extra: {extra}\n" in metadata, extra
    assert "sk-gradopt = sk_gradopt.cli:main" in entry_points


def test_the_installed_wheel_runs_the_main_job(built):
    # installed on its own (no checkout on the path), the command races the optimizers
    tmp, _, wheel = built
    target = tmp / "installed"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
         "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    command = target / "bin" / "sk-gradopt"
    assert command.is_file()
    workdir = tmp / "elsewhere"
    workdir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target), "MPLBACKEND": "Agg"}
    where = subprocess.run([sys.executable, "-c", "import sk_gradopt; print(sk_gradopt.__file__)"],
                           cwd=workdir, env=env, capture_output=True, text=True, check=True)
    assert Path(where.stdout.strip()).is_relative_to(target)
    run = subprocess.run(
        [sys.executable, str(command), "compare", "--dataset", "iris", "--max-iter", "20",
         "--no-plot", "--json"],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert '"command": "compare"' in run.stdout
    assert run.stdout.count('"optimizer":') == 5


def test_twine_accepts_the_distributions(built):
    pytest.importorskip("twine")  # not a dependency: checked where it is installed
    _, sdist, wheel = built
    result = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(sdist),
                             str(wheel)], capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2
