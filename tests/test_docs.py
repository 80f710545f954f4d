"""The documentation builds with warnings as errors, and its examples pass.

The Sphinx builds run on a copy of ``docs/`` and ``examples/``:
sphinx-gallery writes the executed gallery into the source tree.
"""

import doctest
import importlib
import importlib.util
import os
import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import sk_gradopt
from sk_gradopt.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["index", "install", "quickstart", "cli", "user_guide", "tuning", "gpu", "dask",
         "benchmarks", "api", "auto_examples/index"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """A clean copy of the documentation sources and the examples."""
    tmp = tmp_path_factory.mktemp("docs")
    generated = shutil.ignore_patterns("_build", "auto_examples", "gen_modules",
                                       "sg_execution_times.rst", "__pycache__")
    shutil.copytree(ROOT / "docs", tmp / "docs", ignore=generated)
    shutil.copytree(ROOT / "examples", tmp / "examples", ignore=generated)
    return tmp


def sphinx(tree, builder):
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", builder,
               "-d", str(tree / "doctrees"), str(tree / "docs"), str(tree / builder)]
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "MPLBACKEND": "Agg"})
    assert result.returncode == 0, (
        f"sphinx-build -b {builder} failed:\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
    )
    return tree / builder


def test_html_builds_without_warnings_and_runs_the_gallery(tree):
    html = sphinx(tree, "html")
    for page in PAGES:
        assert (html / f"{page}.html").is_file(), page
    # sphinx-gallery executed the examples: their output and figures are there
    quickstart = (html / "auto_examples" / "plot_quickstart.html").read_text(encoding="utf-8")
    assert "of the least-squares solution" in quickstart
    assert (html / "_images" / "sphx_glr_plot_quickstart_001.png").stat().st_size > 10_000
    assert (html / "_images" / "sphx_glr_plot_compare_optimizers_001.png").is_file()
    assert (html / "_images" / "sphx_glr_plot_lr_range_test_001.png").is_file()
    # every example draws (the linear-versus-MLP search drew nothing)
    for example in sorted((ROOT / "examples").glob("plot_*.py")):
        assert (html / "_images" / f"sphx_glr_{example.stem}_001.png").stat().st_size > 10_000
    # pictures outside the gallery: the index and the quick start's loss curves
    index = (html / "index.html").read_text(encoding="utf-8")
    assert 'src="_images/sphx_glr_plot_mlp_optimizers_001.png"' in index
    page = (html / "quickstart.html").read_text(encoding="utf-8")
    loss_curves = page[page.index('id="loss-curves"'):]
    assert 'src="_images/sphx_glr_plot_quickstart_001.png"' in loss_curves
    # the gallery in reading order, the quick start first (docs/gallery_order.py)
    gallery = (html / "auto_examples" / "index.html").read_text(encoding="utf-8")
    shown = list(dict.fromkeys(re.findall(r"sphx_glr_(plot_\w+?)_thumb", gallery)))
    assert shown[0] == "plot_quickstart"
    assert shown == sorted(shown, key=lambda name: order_key(f"{name}.py"))
    # scikit-learn's theme, whose wide column does not cut code lines off
    assert 'class="bd-' in index and "pydata-sphinx-theme" in index
    # autodoc + numpydoc rendered the API
    api = (html / "api.html").read_text(encoding="utf-8")
    for name in ("GradientRegressor", "GradientClassifier", "LossCurveDisplay",
                 "from_estimators", "make_optimizer", "rmsprop", "adam",
                 "lr_range_test", "LRRangeTestDisplay", "LRRangeTestResult"):
        assert name in api, name


def _gallery_order():
    """docs/gallery_order.py, the sort key of the gallery."""
    spec = importlib.util.spec_from_file_location("gallery_order",
                                                  ROOT / "docs" / "gallery_order.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def order_key(filename):
    gallery_order = _gallery_order()
    return gallery_order.GalleryOrder(str(ROOT / "examples"))(str(ROOT / "examples" / filename))


def test_the_gallery_order_lists_every_example():
    # an example missing from the order would land after the searches
    examples = {p.name for p in (ROOT / "examples").glob("plot_*.py")}
    order = _gallery_order().ORDER
    assert examples <= set(order), examples - set(order)
    assert order[0] == "plot_quickstart.py"
    assert min(examples, key=order_key) == "plot_quickstart.py"
    assert order_key("plot_new.py") > max(order_key(name) for name in examples)


#: Words of the machinery that wrote parts of this project, not of the project.
NOT_THE_PROJECTS = re.compile(r"\b(sessions?|lent to|workplace|coordinator)\b",
                              re.IGNORECASE)


def test_user_docs_speak_of_the_project_alone():
    files = [*(ROOT / "docs").glob("*.rst"), ROOT / "README.md",
             *(ROOT / "examples").glob("*.py"), *(ROOT / "examples").glob("*.rst"),
             ROOT / "benchmarks" / "README.md"]
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not NOT_THE_PROJECTS.search(line), f"{path.name}:{number}: {line}"


def test_install_docs_say_how_to_install_before_a_release():
    # no package index has sk-gradopt yet: the pages install from a checkout
    for page in ("index.rst", "install.rst", "gpu.rst", "dask.rst", "cli.rst"):
        text = (ROOT / "docs" / page).read_text(encoding="utf-8")
        assert not re.search(r'pip install "?sk-gradopt\[', text), page
    install = (ROOT / "docs" / "install.rst").read_text(encoding="utf-8")
    assert 'pip install ".[plot]"' in install and "no release" in install
    for extra in ("cupy-cuda12", "cupy-cuda13"):
        assert f"``{extra}``" in install
        assert f".[{extra}]" in (ROOT / "docs" / "gpu.rst").read_text(encoding="utf-8")


def test_doctests_of_the_pages_and_api_docstrings(tree):
    out = sphinx(tree, "doctest")
    report = (out / "output.txt").read_text(encoding="utf-8")
    assert "0 failures in tests" in report
    tests = int(report.split("Doctest summary")[1].split()[1])
    assert tests >= 30, report


def test_docstring_examples_of_every_module(capsys):
    attempted = failed = 0
    for info in pkgutil.walk_packages(sk_gradopt.__path__, "sk_gradopt."):
        module = importlib.import_module(info.name)
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        attempted += result.attempted
        failed += result.failed
    assert failed == 0, capsys.readouterr().out
    assert attempted >= 15


def test_cli_page_documents_every_option():
    text = (ROOT / "docs" / "cli.rst").read_text(encoding="utf-8")
    parser = build_parser()
    (commands,) = [a for a in parser._actions if a.dest == "command"]
    for name, sub in commands.choices.items():
        assert f"sk-gradopt {name}" in text
        for action in sub._actions:
            for option in action.option_strings:
                if option.startswith("--") and option != "--help":
                    assert option in text, f"docs/cli.rst does not document {name} {option}"


def test_every_page_is_in_the_toctree():
    index = (ROOT / "docs" / "index.rst").read_text(encoding="utf-8")
    for page in PAGES[1:]:
        assert f"   {page}\n" in index, page


def test_math_renders_offline(tree):
    html = tree / "html"
    if not html.is_dir():
        html = sphinx(tree, "html")
    pages = list(html.rglob("*.html"))
    with_math = [p for p in pages if 'class="math' in p.read_text(encoding="utf-8")]
    assert len(with_math) >= 2  # the user guide and the optimizers' docstrings
    script = re.compile(r"<script[^>]*\bsrc=\"([^\"]+)\"")
    for page in pages:
        sources = script.findall(page.read_text(encoding="utf-8"))
        remote = [s for s in sources if re.match(r"(https?:)?//", s)]
        assert not [s for s in remote if "mathjax" in s.lower()], page
    for page in with_math:
        sources = script.findall(page.read_text(encoding="utf-8"))
        local = [s.split("?")[0] for s in sources if "mathjax" in s.lower()]
        assert local and all(s.endswith("_static/mathjax/tex-chtml-full.js")
                             for s in local), (page, sources)
        assert (page.parent / local[0]).resolve().stat().st_size > 1_000_000
    fonts = html / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2"
    assert len(list(fonts.glob("MathJax_*.woff"))) >= 20
    assert "Apache License" in (html / "_static" / "mathjax" / "LICENSE").read_text()
