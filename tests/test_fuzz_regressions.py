"""Every crash or hang the fuzzing campaign found (`make fuzz`, tests/fuzz/) stays fixed: each saved input under
tests/fuzz/regressions/<target>/ is replayed through the same target, with the same invariants (no exception
but the documented refusals, no text a UTF-8 file cannot hold, no good record lost, counts that add up)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).parent / "fuzz"
sys.path.insert(0, str(FUZZ))

import targets  # noqa: E402


@pytest.fixture(autouse=True)
def _restore_imports():
    """The harness guards manifest imports (no new module may load while fuzzing); later tests import freely."""
    import curation.core
    import curation.manifest

    saved = curation.core.importlib, curation.manifest.importlib
    yield
    curation.core.importlib, curation.manifest.importlib = saved


CASES = sorted((p.parent.name, p) for p in (FUZZ / "regressions").glob("*/*") if p.is_file())


@pytest.mark.parametrize(("target", "path"), CASES, ids=[f"{t}/{p.name}" for t, p in CASES])
def test_fuzz_finding_stays_fixed(target, path):
    targets.TARGETS[target](path.read_bytes())


@pytest.mark.parametrize("target", sorted(targets.TARGETS))
def test_every_target_runs_on_its_seeds(target, tmp_path):
    """The harness itself works without atheris: each target passes its generated seed corpus."""
    import seeds

    seeds.write_seeds(tmp_path, [target])
    for seed in sorted((tmp_path / target).iterdir())[:6]:
        targets.TARGETS[target](seed.read_bytes())
