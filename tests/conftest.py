"""Shared fixtures: the sample corpus, the format samples, the Khronos validator.

Material outside the repository (``../shared``) and node tools are optional on a
developer's machine: a test that needs a missing one is skipped. Under ``CI`` (any
value but ``""``, ``0``, ``false``, ``no``) it fails instead, so CI cannot go green by
skipping.

Fixtures
--------
corpus_dir : Path
    ``../shared/corpus`` (or ``$MESHPIVOT_CORPUS``).
corpus_manifest : list of CorpusEntry
    Every row of ``MANIFEST.tsv``.
corpus_models : list of CorpusEntry
    The ``.glb`` / ``.gltf`` model files (rows tagged ``glb`` or ``gltf``).
corpus_checks : dict of str to dict
    ``CHECKS.tsv`` rows (counts, the validator's verdict on the input) by path.
corpus_model : CorpusEntry
    Request it in a test to run the test once per corpus model (ids are the paths).
formats_dir : Path
    ``../shared/formats`` (or ``$MESHPIVOT_FORMATS``).
validator : module
    ``tests/validator.py``: ``validator.validate(paths) -> {Path: Report}``,
    ``validator.new_issue_codes(input_report, output_report) -> set``.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def in_ci() -> bool:
    """True when the environment variable ``CI`` is set to a true value."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def skip_or_fail(reason: str) -> NoReturn:
    """Skip the calling test, or fail it under CI."""
    if in_ci():
        pytest.fail(f"{reason} (required when CI is set)", pytrace=False)
    pytest.skip(reason)


settings.register_profile("ci", derandomize=True, deadline=None, max_examples=100)
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if in_ci() else "dev"))


# --- shared material --------------------------------------------------------------


def _shared_dir(env: str, default: Path) -> Path:
    return Path(os.environ.get(env) or default).resolve()


CORPUS = _shared_dir("MESHPIVOT_CORPUS", SHARED / "corpus")
FORMATS = _shared_dir("MESHPIVOT_FORMATS", SHARED / "formats")


@dataclass(frozen=True)
class CorpusEntry:
    """One row of the corpus ``MANIFEST.tsv``; ``path`` is relative to the corpus."""

    path: str
    bytes: int
    features: tuple[str, ...]
    license: str
    source: str
    root: Path = CORPUS

    @property
    def file(self) -> Path:
        """The absolute path of the file."""
        return self.root / self.path

    @property
    def is_model(self) -> bool:
        """A ``.glb`` / ``.gltf`` asset (not a resource it refers to)."""
        return "glb" in self.features or "gltf" in self.features


def _read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def read_manifest(corpus: Path = CORPUS) -> list[CorpusEntry]:
    """The rows of ``corpus/MANIFEST.tsv`` (empty when the corpus is absent)."""
    manifest = corpus / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    return [
        CorpusEntry(
            path=row["path"],
            bytes=int(row["bytes"]),
            features=tuple(f for f in row["features"].split(",") if f),
            license=row["license"],
            source=row["source"],
            root=corpus,
        )
        for row in _read_tsv(manifest)
    ]


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    if not (CORPUS / "MANIFEST.tsv").is_file():
        skip_or_fail(f"the sample corpus is missing: {CORPUS} (set MESHPIVOT_CORPUS)")
    return CORPUS


@pytest.fixture(scope="session")
def corpus_manifest(corpus_dir: Path) -> list[CorpusEntry]:
    return read_manifest(corpus_dir)


@pytest.fixture(scope="session")
def corpus_models(corpus_manifest: list[CorpusEntry]) -> list[CorpusEntry]:
    return [e for e in corpus_manifest if e.is_model]


@pytest.fixture(scope="session")
def corpus_checks(corpus_dir: Path) -> dict[str, dict[str, str]]:
    return {row["path"]: row for row in _read_tsv(corpus_dir / "CHECKS.tsv")}


@pytest.fixture
def corpus_model(request: pytest.FixtureRequest) -> CorpusEntry:
    entry: CorpusEntry | None = request.param
    if entry is None:
        skip_or_fail(f"the sample corpus is missing: {CORPUS} (set MESHPIVOT_CORPUS)")
    return entry


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "corpus_model" in metafunc.fixturenames:
        models = [e for e in read_manifest() if e.is_model]
        params: list[CorpusEntry | None] = list(models) or [None]
        ids = [e.path if e else "no-corpus" for e in params]
        metafunc.parametrize("corpus_model", params, ids=ids, indirect=True)


@pytest.fixture(scope="session")
def formats_dir() -> Path:
    if not FORMATS.is_dir():
        skip_or_fail(f"the format samples are missing: {FORMATS} (set MESHPIVOT_FORMATS)")
    return FORMATS


# --- the Khronos validator -------------------------------------------------------


def _load_validator() -> ModuleType:
    # Loaded by path: with --import-mode=importlib the tests folder is not on sys.path.
    name = "meshpivot_tests_validator"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tests" / "validator.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while building
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def validator() -> ModuleType:
    module = _load_validator()
    reason = module.unavailable_reason()
    if reason is not None:
        skip_or_fail(reason)
    return module
