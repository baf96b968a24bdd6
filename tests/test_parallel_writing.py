"""`build --jobs`: the started writers (registry.build.site.modelwriters) write their blocks of
models from what each block carries of the catalog, not from a fork of it. Whatever a block
lacks would change the site, so the site must be the one a single process writes, byte for
byte: with base models in other blocks, aliases, events of several commits, and a reused tree.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from registry.build.catalog import Catalog
from registry.build.site.modelwriters import CodeChanged, _Setup, _Share, _write_block, _writer
from registry.build.site.spare import spare_path
from registry.load.config import RegistryConfig
from tests.factories.registries import add_version, edit_manifest, new_registry
from tests.helpers import PROJECT, commit_all, run, tree_digest

MODELS = 12  # blocks of 4 by name: m00-m03 and m08-m11 written here, m04-m07 by a writer
PER_BUILD = {"v1/stats.json", "metrics.prom"}  # the build's duration


def name(index: int) -> str:
    return f"m{index % MODELS:02d}"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = new_registry(
        tmp_path_factory.mktemp("writers") / "registry",
        "name: Writers\nbase_url: https://models.example.org/\n",
    )
    for index in range(MODELS):
        add_version(root, name(index), "1.0.0")
    commit_all(root, "first versions", "2025-01-01T10:00:00+00:00")
    for index in range(MODELS):  # each 1.1.0 derives from a model of the next block
        add_version(root, name(index), "1.1.0", lineage={"base_model": f"{name(index + 4)}@1.0.0"})
    for index in (1, 5, 9):
        (root / "models" / name(index) / "aliases.yaml").write_text('production: "1.0.0"\n')
    commit_all(root, "second versions", "2025-02-01T10:00:00+00:00")
    return root


def built(root: Path, out: Path, *options: str) -> dict[str, str]:
    code, _, err = run("build", "--root", root, "--out", out, "--force", *options)
    assert code == 0, err
    return {k: v for k, v in tree_digest(out).items() if k not in PER_BUILD}


def test_started_writers_write_the_site_one_process_writes(registry: Path, tmp_path: Path) -> None:
    one = built(registry, tmp_path / "one", "--jobs", "1", "--no-cache")
    assert any(path.startswith("v1/models/m05/") for path in one)
    assert one == built(registry, tmp_path / "two", "--jobs", "2", "--no-cache")
    # The cache's objects, links and the reused tree (the spare, updated in place).
    site = tmp_path / "cached"
    assert one == built(registry, site, "--jobs", "2")
    assert one == built(registry, site, "--jobs", "2")  # the first site is kept as the spare...
    assert spare_path(site).is_dir()
    assert one == built(registry, site, "--jobs", "2")  # ...and updated in place by this one


def test_a_change_in_a_writers_block_reaches_the_site(registry: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    built(registry, site, "--jobs", "2")
    built(registry, site, "--jobs", "2")  # the first site is now the spare, reused next
    edit_manifest(registry, name(4), "1.0.0", description="Changed in a writer's block.")
    try:
        reused = built(registry, site, "--jobs", "2")
        assert reused == built(registry, tmp_path / "fresh", "--jobs", "1", "--no-cache")
    finally:
        subprocess.run(["git", "checkout", "-q", "--", "."], cwd=registry, check=True)


def test_a_writer_that_would_run_other_code_refuses(tmp_path: Path) -> None:
    """A writer imports modelreg from disk when it starts: if it was installed again since the
    build began, the writer refuses rather than write pages of another version's code."""
    catalog = Catalog(RegistryConfig(), None, "2025-01-01T00:00:00Z", ())
    setup = _Setup(tmp_path, False, tmp_path, catalog, {}, "the build's code")
    state = _writer(setup)
    assert state[2] is False
    with pytest.raises(CodeChanged, match="installed again while this build ran"):
        _write_block(state, _Share((), {}, {}, {}))
    assert not any(tmp_path.iterdir())


def test_a_script_that_calls_main_unguarded_fails_at_once(registry: Path, tmp_path: Path) -> None:
    """A started writer imports the script that started modelreg again. One that calls main()
    at its top level would start a second build there, which waited for the first one's lock
    for good; the writer refuses with what to change, and the build publishes nothing."""
    out = tmp_path / "site"
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import sys\n"
        "from registry.cli import main\n"
        f"sys.exit(main(['build', '--root', {str(registry)!r}, '--out', {str(out)!r},"
        " '--jobs', '2', '--force']))\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
    )
    assert done.returncode == 1, done.stderr
    assert '`if __name__ == "__main__":`' in done.stderr
    assert "a writer process ended before it had written its models" in done.stderr
    assert not out.exists()
