"""The package's layers stack (issue 26): every import in ``minivae/`` is read (module-level
and inside functions) and checked against the table of ``minivae/layers.py``: no import
circle, no import from a layer to one above it or to one it may not read, no model family
importing another. A failure names the files. The model families' functions take at most
six parameters."""

from __future__ import annotations

import ast
from fnmatch import fnmatch
from pathlib import Path

import pytest

from minivae import layers

ROOT = Path(__file__).resolve().parent.parent
MAX_PARAMS = 6


def package_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in (root / "minivae").rglob("*.py"))


def module_file(root: Path, module: str) -> str | None:
    """The file of a dotted module of the package, or None (not ours, or not a module)."""
    path = Path(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if (root / candidate).is_file():
            return candidate.as_posix()
    return None


def imports_of(root: Path, file: str) -> set[str]:
    """The package files that ``file`` imports, anywhere in it (a function's imports too)."""
    tree = ast.parse((root / file).read_text(), file)
    package = file.removesuffix(".py").replace("/", ".")
    if not file.endswith("__init__.py"):
        package = package.rsplit(".", 1)[0]
    else:
        package = package.removesuffix(".__init__")
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            # a name may be a submodule (``from minivae import ops``) or a name in the module
            modules = [f"{base}.{a.name}" if module_file(root, f"{base}.{a.name}") else base
                       for a in node.names]
        else:
            continue
        for module in modules:
            target = module_file(root, module) if module.startswith("minivae") else None
            if target is not None and target != file:
                found.add(target)
    return found


def layer_of(file: str) -> str | None:
    return next((layer for pattern, layer in layers.RULES if fnmatch(file, pattern)), None)


def folder_of(file: str) -> str:
    return file.rsplit("/", 1)[0]


def import_graph(root: Path) -> dict[str, set[str]]:
    return {f: imports_of(root, f) for f in package_files(root)}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one file (Tarjan's algorithm)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def bad_imports(graph: dict[str, set[str]]) -> list[str]:
    """Each import the table does not allow, as 'a.py (layer) -> b.py (layer)'."""
    bad = []
    for source, targets in sorted(graph.items()):
        a = layer_of(source)
        for target in sorted(targets):
            b = layer_of(target)
            allowed = b == a or b in layers.MAY_IMPORT[a]
            sealed = b == a and a in layers.SEALED and folder_of(source) != folder_of(target)
            if not allowed or sealed:
                bad.append(f"{source} ({a}) -> {target} ({b})")
    return bad


def test_the_table_is_ordered_bottom_to_top():
    names = list(layers.MAY_IMPORT)
    for i, name in enumerate(names):
        assert set(layers.MAY_IMPORT[name]) <= set(names[:i]), name
    assert {layer for _, layer in layers.RULES} <= set(names)


def test_every_file_of_the_package_has_a_layer():
    missing = [f for f in package_files(ROOT) if layer_of(f) is None]
    assert not missing, f"files without a layer (add a rule to minivae/layers.py): {missing}"


def test_no_import_circle_in_the_package():
    found = circles(import_graph(ROOT))
    assert not found, "import circles: " + "; ".join(" <-> ".join(c) for c in found)


def test_no_import_runs_up_a_layer_or_from_one_family_to_another():
    bad = bad_imports(import_graph(ROOT))
    assert not bad, "imports the layers do not allow:\n" + "\n".join(bad)


def write(root: Path, files: dict) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_the_checks_name_a_circle_a_backward_import_and_a_family_reading_another(tmp_path):
    write(
        tmp_path,
        {
            "minivae/__init__.py": "",
            "minivae/ops/__init__.py": "from minivae import blocks\n",  # ops -> blocks: up
            "minivae/blocks/__init__.py": "",
            "minivae/blocks/a.py": "def f():\n    from minivae.blocks import b\n",
            "minivae/blocks/b.py": "from minivae.blocks.a import f\n",  # a <-> b
            "minivae/dialogue/model.py": "from minivae.poetry.model import x\n",
            "minivae/poetry/model.py": "x = 1\n",
            "minivae/training/trainer.py": "from minivae.dialogue import model\n",
        },
    )
    graph = import_graph(tmp_path)
    assert circles(graph) == [["minivae/blocks/a.py", "minivae/blocks/b.py"]]
    bad = bad_imports(graph)
    assert "minivae/ops/__init__.py (ops) -> minivae/blocks/__init__.py (blocks)" in bad
    assert "minivae/dialogue/model.py (families) -> minivae/poetry/model.py (families)" in bad
    assert "minivae/training/trainer.py (training) -> minivae/dialogue/model.py (families)" in bad
    assert len(bad) == 3


def parameter_counts(root: Path, files) -> dict[str, int]:
    """'file:function' -> its parameters (self and cls not counted, *args and **kw are one each)."""
    counts = {}
    for file in files:
        for node in ast.walk(ast.parse((root / file).read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                a = node.args
                names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
                if names and names[0] in ("self", "cls"):
                    names = names[1:]
                counts[f"{file}:{node.name}"] = len(names) + bool(a.vararg) + bool(a.kwarg)
    return counts


# Op-style functions of the blocks, whose arrays are their inputs (as an op's are), so the
# gradient checks and the tutorials can feed each one: the RNN over a sequence (cell, x, h0,
# weights, their prefix, mask, kernel) and the prior network (c and its six weights).
OP_STYLE = {"minivae/blocks/rnn.py:rnn_forward", "minivae/blocks/latent.py:prior_net_forward"}


def model_files(root: Path) -> list[str]:
    """Every file of a model family's folder (its run config and tasks too) and the blocks."""
    families = {folder_of(f) for f in package_files(root) if layer_of(f) == "families"}
    return [
        f
        for f in package_files(root)
        if folder_of(f) in families or layer_of(f) == "blocks"
    ]


def test_the_model_families_have_no_function_of_more_than_six_parameters():
    files = model_files(ROOT)
    assert "minivae/translation/tasks.py" in files and "minivae/blocks/latent.py" in files
    counts = parameter_counts(ROOT, files)
    over = {name: n for name, n in counts.items() if n > MAX_PARAMS and name not in OP_STYLE}
    assert not over, f"functions of more than {MAX_PARAMS} parameters: {over}"
    assert all(counts[name] <= MAX_PARAMS + 1 for name in OP_STYLE)


@pytest.mark.parametrize(
    "code, count",
    [("def f(a, b, *c, d=1, **e): pass", 5), ("class A:\n    def m(self, a): pass", 1)],
)
def test_parameters_are_counted_as_a_reader_sees_them(tmp_path, code, count):
    (tmp_path / "m.py").write_text(code)
    assert max(parameter_counts(tmp_path, ["m.py"]).values()) == count


def test_the_tests_folder_mirrors_the_package():
    """A module's tests are found by its path: tests/ops/ for minivae/ops/, tests/kernels/ for
    the fused kernels; tests of top-level modules (api.py, interface.py, ...) sit in tests/."""
    tests = ROOT / "tests"
    folders = {p.name for p in tests.iterdir() if p.is_dir() and p.name not in ("fixtures",)}
    folders = {f for f in folders if not f.startswith((".", "__"))}
    packages = {p.name for p in (ROOT / "minivae").iterdir() if (p / "__init__.py").exists()}
    stray = sorted(folders - packages - {"kernels"})
    assert not stray, f"tests/ folders that name no package folder: {stray}"
    loose = sorted(
        p.name
        for p in tests.glob("test_*.py")
        if p.stem.removeprefix("test_").split("_")[0] in packages
    )
    assert not loose, f"tests of a package folder left at the top of tests/: {loose}"
