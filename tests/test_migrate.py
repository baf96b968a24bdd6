"""modelreg migrate: only schema_version changes; comments, order and quoting stay."""

from __future__ import annotations

from pathlib import Path

from registry.load.manifest import load_manifest
from registry.versions import LATEST_SCHEMA_VERSION
from tests.factories.manifests import VALID_REAL_MODELS, dump_manifest, manifest_data
from tests.factories.registries import write_version
from tests.helpers import run

COMMENTED = """\
# Top comment: keep me.
schema_version: '1.0'   # trailing comment
model_name: real-model
"""


def _manifest(tmp_path: Path) -> Path:
    model = VALID_REAL_MODELS["okay_nabu.tflite"]
    data = manifest_data(model)
    text = dump_manifest(data).replace("schema_version: '1.0'\nmodel_name: real-model\n", COMMENTED)
    text = text.replace("risk_tier: tier-1", "risk_tier: tier-1  # reviewed yearly")
    folder = write_version(tmp_path, data, model.path, text=text)
    return folder / "manifest.yaml"


def test_upgrade_keeps_every_other_byte(tmp_path: Path) -> None:
    path = _manifest(tmp_path)
    before = path.read_text()
    code, out, _ = run("migrate", path, "--to", "1.1")
    assert code == 0
    assert "schema_version 1.0 -> 1.1" in out
    after = path.read_text()
    assert after == before.replace("schema_version: '1.0'", "schema_version: '1.1'")
    manifest, findings = load_manifest(path, "manifest.yaml")
    assert findings == [] and manifest is not None and manifest.schema_version == "1.1"


def test_upgrade_is_idempotent_and_folders_are_searched(tmp_path: Path) -> None:
    path = _manifest(tmp_path)
    run("migrate", path)
    snapshot = path.read_text()
    code, out, _ = run("migrate", tmp_path / "models")
    assert code == 0
    assert f"already at schema_version {LATEST_SCHEMA_VERSION}" in out
    assert path.read_text() == snapshot


def test_downgrade_refuses_to_drop_newer_fields(tmp_path: Path) -> None:
    path = _manifest(tmp_path)
    run("migrate", path, "--to", "1.1")
    path.write_text(
        path.read_text()
        + "quantization_profile:\n  method: int8\n  calibration_dataset_hash: sha256:"
        + "0" * 64
        + "\n"
    )
    snapshot = path.read_text()
    code, out, _ = run("migrate", path, "--to", "1.0")
    assert code == 1
    assert "remove quantization_profile first" in out
    assert path.read_text() == snapshot


def test_broken_manifest_is_not_touched(tmp_path: Path) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_text("schema_version: '1.0'\na: 1\na: 2\n")
    code, out, _ = run("migrate", path)
    assert code == 1
    assert "duplicate key" in out
    assert path.read_text() == "schema_version: '1.0'\na: 1\na: 2\n"


def test_crlf_bom_and_unquoted_version_survive(tmp_path: Path) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_bytes("\ufeffschema_version: 1.0\r\nmodel_name: x  # note\r\n".encode())
    code, out, _ = run("migrate", path, "--to", "1.1")
    assert code == 0, out
    assert path.read_bytes() == '\ufeffschema_version: "1.1"\r\nmodel_name: x  # note\r\n'.encode()


LINEAGE = """\
lineage:
  datasets:
    - name: speech-commands   # what it learned from
      license: CC-BY-4.0
    - name: held-out
metrics:
  - name: accuracy
    value: 0.91
    dataset: held-out
"""


def test_upgrade_to_1_2_states_the_role_1_1_implied(tmp_path: Path) -> None:
    """A dataset a metric names was an evaluation set; any other a training set: 1.2 says so."""
    path = _manifest(tmp_path)
    path.write_text(path.read_text() + LINEAGE)
    before = path.read_text()
    code, out, _ = run("migrate", path, "--to", "1.2")
    assert code == 0, out
    assert path.read_text() == before.replace(
        "schema_version: '1.0'", "schema_version: '1.2'"
    ).replace(
        "    - name: speech-commands   # what it learned from\n",
        "    - name: speech-commands   # what it learned from\n      role: training\n",
    ).replace("    - name: held-out\n", "    - name: held-out\n      role: evaluation\n")
    manifest, findings = load_manifest(path, "manifest.yaml")
    assert findings == [] and manifest is not None and manifest.lineage is not None
    assert [(d.name, d.role) for d in manifest.lineage.datasets] == [
        ("speech-commands", "training"),
        ("held-out", "evaluation"),
    ]


def test_reading_1_1_infers_the_same_roles_as_the_migration(tmp_path: Path) -> None:
    path = _manifest(tmp_path)
    path.write_text(path.read_text() + LINEAGE)
    manifest, findings = load_manifest(path, "manifest.yaml")
    assert findings == [] and manifest is not None and manifest.lineage is not None
    assert {d.name: d.learned_from for d in manifest.lineage.datasets} == {
        "speech-commands": True,
        "held-out": False,
    }


def test_a_flow_mapping_dataset_is_left_to_the_author(tmp_path: Path) -> None:
    path = _manifest(tmp_path)
    path.write_text(path.read_text() + "lineage:\n  datasets: [{name: a}]\n")
    snapshot = path.read_text()
    code, out, _ = run("migrate", path, "--to", "1.2")
    assert code == 1
    assert "lineage.datasets[0] is not a block mapping; add role: training by hand" in out
    assert path.read_text() == snapshot


def test_downgrade_from_1_2_refuses_to_drop_roles(tmp_path: Path) -> None:
    path = _manifest(tmp_path)
    path.write_text(path.read_text() + LINEAGE)
    run("migrate", path, "--to", "1.2")
    snapshot = path.read_text()
    code, out, _ = run("migrate", path, "--to", "1.1")
    assert code == 1
    assert "remove lineage.datasets[].role and .description first" in out
    assert path.read_text() == snapshot
