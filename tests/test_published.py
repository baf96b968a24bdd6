"""registry.validate.published on real Git repositories: asking Git about the queried models only
(a pull request's run) answers exactly what one listing of every manifest answers, for names
that pathspecs could misread and for strings that are not version folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.infra import git as registry_git
from registry.validate.published import FEW_MODELS, Published
from tests.helpers import commit_all, git

QUERIES = [
    "models/a/1.0.0",
    "models/a/2.0.0",
    "models/ab/1.0.0",
    "models/a b/1.0.0",
    "models/é/1.0.0",
    "models/*/1.0.0",
    "models/?/1.0.0",
    "models/c/1.0.0",
    "models/a/1.0.0/sub",
    "models/a",
    "models//1.0.0",
    "models/./1.0.0",
    "models/../models/a/1.0.0",
    "x/a/1.0.0",
    "",
]


def _manifest(root: Path, relative: str) -> None:
    path = root / relative / "manifest.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("name: x\n")


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A registry in a subfolder of its repository; the first commit's sha."""
    top = tmp_path_factory.mktemp("published")
    root = top / "reg"
    for relative in [
        "models/a/1.0.0",
        "models/ab/1.0.0",
        "models/a b/1.0.0",
        "models/é/1.0.0",
        "models/*/1.0.0",
        "models/a/1.0.0/sub",
    ]:
        _manifest(root, relative)
    (root / "models/c/1.0.0").mkdir(parents=True)
    (root / "models/c/1.0.0/model.onnx").write_bytes(b"x")  # a folder without a manifest
    first = commit_all(top, "first")
    git(top, "rm", "-q", "-r", "reg/models/ab")
    _manifest(root, "models/a/3.0.0")
    commit_all(top, "second")
    _manifest(root, "models/a/2.0.0")  # in the work tree only
    return root, first


def _every(root: Path, rev: str) -> set[str]:
    """What is published, from one listing of the whole tree (git's own output, parsed here)."""
    out = git(root, "ls-tree", "-r", "-z", "--name-only", "--full-tree", rev)
    paths = [p[len("reg/") :] for p in out.split("\x00") if p.startswith("reg/models/")]
    return {p[: -len("/manifest.yaml")] for p in paths if p.endswith("/manifest.yaml")}


@pytest.mark.parametrize("base", [None, "first"])
def test_few_models_asked_one_by_one_answer_as_the_whole_listing(
    history: tuple[Path, str], base: str | None
) -> None:
    root, first = history
    rev = first if base else "HEAD"
    expected = _every(root, rev)
    assert "models/a/1.0.0" in expected and "models/*/1.0.0" in expected
    assert ("models/ab/1.0.0" in expected) is (base is not None)
    few = Published(root, rev if base else None, {"a"})
    many = Published(root, rev if base else None, {f"m{i}" for i in range(FEW_MODELS + 1)})
    for query in QUERIES:
        assert (query in few) is (query in expected), query
        assert (query in many) is (query in expected), query


def test_a_few_models_are_listed_each_once_and_alone(
    history: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = history
    listed: list[str] = []
    real = registry_git.tracked_files

    def recording(root: Path, rev: str, pathspec: str) -> set[str]:
        listed.append(pathspec)
        return real(root, rev, pathspec)

    monkeypatch.setattr(registry_git, "tracked_files", recording)
    published = Published(root, None, {"a"})
    assert listed == []  # nothing asked yet
    assert "models/a/1.0.0" in published and "models/a/3.0.0" in published
    assert "models/a/2.0.0" not in published  # not committed
    assert listed == ["reg/models/a"]
    assert "models/*/1.0.0" in published and "models/?/1.0.0" not in published
    assert listed == ["reg/models/a", "reg/models/*", "reg/models/?"]
    assert "models/../models/a/1.0.0" not in published  # not a version folder: list them all
    assert listed[-1] == "reg/models"
    listed.clear()
    many = Published(root, None, {f"m{i}" for i in range(FEW_MODELS + 1)})
    assert listed == ["reg/models"]
    assert "models/a/1.0.0" in many and listed == ["reg/models"]


def test_nothing_is_published_outside_git_or_before_the_first_commit(tmp_path: Path) -> None:
    _manifest(tmp_path / "plain", "models/a/1.0.0")
    assert "models/a/1.0.0" not in Published(tmp_path / "plain", None, {"a"})
    root = tmp_path / "fresh"
    _manifest(root, "models/a/1.0.0")
    git(tmp_path, "init", "-q", "-b", "main", str(root))
    git(root, "add", "-A")
    for models in ({"a"}, {f"m{i}" for i in range(FEW_MODELS + 1)}):
        assert "models/a/1.0.0" not in Published(root, None, models)
