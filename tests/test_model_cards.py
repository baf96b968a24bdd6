"""Hugging Face model cards: `modelreg add --model-card` reads one into a manifest, and every built
version gets a README.md card that huggingface_hub reads, and that `add` reads back."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from huggingface_hub import ModelCard as HubModelCard
from huggingface_hub import ModelCardData
from huggingface_hub.repocard import REGEX_YAML_BLOCK

from registry.authoring.modelcard import read_card
from registry.build import hfcard
from registry.load.hublicenses import spdx_license
from registry.load.manifest import Manifest, load_manifest
from tests.factories.manifests import VALID_REAL_MODELS, dump_manifest, manifest_data
from tests.factories.registries import new_registry
from tests.helpers import PROJECT, REAL_MODELS, commit_all, run

CARD = Path(__file__).parent / "factories" / "silero_vad_card.md"
SILERO = REAL_MODELS / "silero_vad.onnx"
BASE_URL = "https://models.example.org/hub/"
EXAMPLE_VERSIONS = [
    "iris-mlp/1.0.0",
    "iris-mlp/1.1.0",
    "iris-mlp/1.2.0",
    "keyword-dense/2.0.0",
    "tiny-convnet/0.1.0",
]


def add_with_card(root: Path, card: Path, name: str, version: str) -> tuple[int, str, str]:
    return run(
        "add",
        SILERO,
        "--root",
        root,
        "--name",
        name,
        "--version",
        version,
        "--model-card",
        card,
        "--publisher",
        "Silero Team",
        "--risk-tier",
        "tier-1",
    )


def fill_framework(manifest: Path) -> None:
    """The TODOs a card leaves for an ONNX file written by a converter: the framework."""
    text = manifest.read_text()
    text = re.sub(r'name: ""  # TODO: the training framework.*', 'name: "pytorch"', text)
    text = re.sub(r'version: ""  # TODO: its version.*', 'version: "2.3.1"', text)
    assert "# TODO" not in text
    manifest.write_text(text)


def loaded(root: Path, name: str, version: str) -> Manifest:
    path = root / "models" / name / version / "manifest.yaml"
    manifest, findings = load_manifest(path, str(path))
    assert manifest is not None, findings
    return manifest


def mapped(manifest: Manifest) -> dict[str, Any]:
    """What a model card maps, as typed values."""
    return {
        "license": manifest.license,
        "intended_use": manifest.intended_use,
        "description": manifest.description,
        "tags": manifest.tags,
        "lineage": manifest.lineage,
        "metrics": manifest.metrics,
        "model_card": manifest.model_card,
    }


def test_add_fills_the_manifest_from_a_model_card(tmp_path: Path) -> None:
    root = new_registry(tmp_path / "registry")
    code, out, err = add_with_card(root, CARD, "silero-vad", "1.0.0")
    assert code == 0, err
    assert "wrote models/silero-vad/1.0.0/manifest.yaml" in out
    unmapped = out.split("not mapped from", 1)[1].split("fill these", 1)[0]
    for said in (
        "language: multilingual",
        "base_model: `snakers4/silero-vad` is not a version of this registry",
        "tags: `region:us`",
        "co2_eq_emissions",
        "accuracy on google/fleurs: the value '0.93 ± 0.01' is not a number",
        "Compute Region",
        "Carbon Emitted",
        "section `Downstream Use [optional]`",
        "section `How to Get Started with the Model`",
        "section `Citation [optional]`",
    ):
        assert said in unmapped, said
    assert "Not a heading" not in out  # a `#` line inside a code block is code
    assert "Cloud Provider" not in out  # the template's placeholder says nothing
    manifest_file = root / "models/silero-vad/1.0.0/manifest.yaml"
    fill_framework(manifest_file)
    code, out, err = run("validate", "--root", root, manifest_file.parent)
    assert code == 0, out + err

    manifest = loaded(root, "silero-vad", "1.0.0")
    assert manifest.schema_version == "1.2"
    assert manifest.license == "MIT"
    assert manifest.description.startswith("Silero VAD is a pre-trained voice activity detector.")
    assert "servers alike." in manifest.description and "<!--" not in manifest.description
    assert manifest.intended_use.startswith("Detecting speech in 8 kHz or 16 kHz mono audio")
    assert manifest.tags == ("audio", "speech", "voice-activity-detection", "onnx")
    assert manifest.lineage is not None and manifest.lineage.base_model is None
    assert [(d.name, d.role) for d in manifest.lineage.datasets] == [
        ("mozilla-foundation/common_voice_13_0", "training"),
        ("google/fleurs", "training"),
        ("ava-speech", "evaluation"),
    ]
    assert [(m.name, m.value, m.dataset, m.split) for m in manifest.metrics] == [
        ("roc_auc", 0.91, "ava-speech", "test"),
        ("roc_auc", 0.95, "google/fleurs", "test"),
    ]
    card = manifest.model_card
    assert card is not None and card.training is not None and card.energy is not None
    assert card.task == "voice-activity-detection"
    assert card.limitations is not None and card.limitations.startswith("Quality drops")
    assert "### Recommendations" in card.limitations  # a subsection stays with its section
    assert card.out_of_scope_uses is not None
    assert card.out_of_scope_uses.startswith("- Speaker identification or verification")
    assert card.training.framework is not None and card.training.framework.name == "pytorch"
    assert card.training.procedure is not None
    assert card.training.procedure.startswith("Trained in PyTorch")
    assert dict(card.training.hyperparameters) == {
        "Training regime": "fp32",
        "learning_rate": 0.001,
        "batch_size": 256,
        "optimizer": "adamw",
        "label_smoothing": 0.1,
    }
    assert (card.training.hardware, card.training.duration) == ("4x NVIDIA V100", "72 h")
    assert card.energy.training_kwh == 86.4
    assert card.data_preprocessing == (
        "Resample to 16 kHz mono.",
        "Mix speech with noise at random signal-to-noise ratios.",
        "Cut into chunks of 512 samples.",
    )


def test_flags_win_over_the_card(tmp_path: Path) -> None:
    root = new_registry(tmp_path / "registry")
    code, _, err = run(
        "add",
        SILERO,
        "--root",
        root,
        "--name",
        "vad",
        "--version",
        "1.0.0",
        "--model-card",
        CARD,
        "--license",
        "Apache-2.0",
        "--intended-use",
        "Only what the person adding it says it is for.",
    )
    assert code == 0, err
    manifest = yaml.safe_load((root / "models/vad/1.0.0/manifest.yaml").read_text())
    assert manifest["license"] == "Apache-2.0"
    assert manifest["intended_use"] == "Only what the person adding it says it is for."


def test_base_model_is_mapped_when_it_is_a_version_of_this_registry(tmp_path: Path) -> None:
    root = new_registry(tmp_path / "registry")
    assert add_with_card(root, CARD, "silero-vad", "1.0.0")[0] == 0
    card = tmp_path / "derived.md"
    card.write_text(CARD.read_text().replace("snakers4/silero-vad", "silero-vad@1.0.0"))
    code, out, err = add_with_card(root, card, "silero-vad-tuned", "1.0.0")
    assert code == 0, err
    assert "base_model:" not in out
    data = yaml.safe_load((root / "models/silero-vad-tuned/1.0.0/manifest.yaml").read_text())
    assert data["lineage"]["base_model"] == "silero-vad@1.0.0"
    card.write_text(CARD.read_text().replace("snakers4/silero-vad", "silero-vad@9.9.9"))
    code, out, err = add_with_card(root, card, "silero-vad-other", "1.0.0")
    assert code == 0, err
    assert "base_model: `silero-vad@9.9.9` is not a version of this registry" in out
    data = yaml.safe_load((root / "models/silero-vad-other/1.0.0/manifest.yaml").read_text())
    assert "base_model" not in data["lineage"]


def test_hugging_face_license_ids_map_to_spdx() -> None:
    assert spdx_license("apache-2.0") == "Apache-2.0"
    assert spdx_license("mit") == "MIT"
    assert spdx_license("cc-by-4.0") == "CC-BY-4.0"
    assert spdx_license("bsd-3-clause-clear") == "BSD-3-Clause-Clear"
    assert spdx_license("gpl-3.0") == "GPL-3.0-only"  # the SPDX id it is the deprecated form of
    assert spdx_license("Apache-2.0") == "Apache-2.0"
    for not_one_license in ("gpl", "bsd", "cc", "openrail", "llama2", "other", "unknown"):
        assert spdx_license(not_one_license) is None, not_one_license


def test_a_card_without_front_matter_or_with_a_license_family(tmp_path: Path) -> None:
    card = tmp_path / "README.md"
    card.write_text(
        "# Keyword spotter\n\nSpots the wake word in 30 ms frames.\n\n"
        "## Uses\n\nWake word detection on microcontrollers with 40 mel bins.\n"
    )
    imported = read_card(card, tmp_path)
    assert imported.description == "Spots the wake word in 30 ms frames."
    assert imported.intended_use == "Wake word detection on microcontrollers with 40 mel bins."
    assert imported.license is None and imported.unmapped == ()
    card.write_text("---\nlicense: gpl\n---\n\n## Uses\n\nToo short.\n")
    imported = read_card(card, tmp_path)
    assert imported.license is None and imported.intended_use is None
    assert imported.unmapped == (
        "license: `gpl` is a family of licenses, not one; give --license",
        "section `Uses`: shorter than the 20 characters intended_use needs",
    )
    card.write_text("---\nmodel-index:\n- name: x\n  results:\n  - task: {}\n---\n")
    args = ("--name", "x", "--version", "1.0.0", "--model-card", card)
    code, _, err = run("add", SILERO, "--root", tmp_path, *args)
    assert code == 1 and "not a valid model card" in err
    assert not (tmp_path / "models/x").exists()


def test_without_huggingface_hub_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    root = new_registry(tmp_path / "registry")
    code, _, err = add_with_card(root, CARD, "silero-vad", "1.0.0")
    assert code == 1
    assert "needs huggingface_hub" in err and "pip install 'modelreg[build]'" in err
    assert not (root / "models/silero-vad").exists()


def test_version_and_validate_do_not_import_huggingface_hub() -> None:
    script = (
        "import sys\n"
        "from registry.cli import main\n"
        f"code = main(['validate', '--root', {str(PROJECT)!r}, "
        f"{str(PROJECT / 'models/iris-mlp/1.1.0')!r}])\n"
        "assert code == 0, code\n"
        "assert not [m for m in sys.modules if m.startswith('huggingface_hub')]\n"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    for command in (
        [sys.executable, "-X", "importtime", "-m", "registry", "--version"],
        [sys.executable, "-c", script],
    ):
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        assert done.returncode == 0, done.stderr
        assert "huggingface_hub" not in done.stderr  # -X importtime lists every module


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A registry with silero-vad@1.0.0 (from the card) and silero-vad@1.1.0 derived from it,
    built into a site: (root, site)."""
    root = new_registry(
        tmp_path_factory.mktemp("cards") / "registry",
        f"name: model card tests\nbase_url: {BASE_URL}\n",
    )
    derived = root.parent / "derived.md"
    derived.write_text(CARD.read_text().replace("snakers4/silero-vad", "silero-vad@1.0.0"))
    for version, card in (("1.0.0", CARD), ("1.1.0", derived)):
        assert add_with_card(root, card, "silero-vad", version)[0] == 0
        fill_framework(root / "models/silero-vad" / version / "manifest.yaml")
    commit_all(root, "add silero-vad from its model card")
    site = root.parent / "site"
    code, _, err = run("build", "--root", root, "--out", site)
    assert code == 0, err
    return root, site


def test_round_trip_manifest_card_manifest(built: tuple[Path, Path], tmp_path: Path) -> None:
    root, site = built
    readme = site / "v1/models/silero-vad/1.1.0/README.md"
    code, out, err = add_with_card(root, readme, "silero-vad", "1.2.0")
    assert code == 0, err
    try:
        fill_framework(root / "models/silero-vad/1.2.0/manifest.yaml")
        original, again = loaded(root, "silero-vad", "1.1.0"), loaded(root, "silero-vad", "1.2.0")
        assert again.base_model == "silero-vad@1.0.0"
        assert mapped(again) == mapped(original)
        # Only the card's own sections are left: nothing of the front matter is lost.
        unmapped = out.split("not mapped from", 1)[1].split("fill these", 1)[0]
        sections = re.findall(r"section `([^`]+)`", unmapped)
        assert sections == [
            "Model Details",
            "Inputs and Outputs",
            "Training Data",
            "Testing Data",
            "Results",
        ]
        assert len(unmapped.strip().splitlines()) == 1 + len(sections)
    finally:
        shutil.rmtree(root / "models/silero-vad/1.2.0")


def hub_card(text: str) -> tuple[ModelCardData, str]:
    """What huggingface_hub reads from a card: its metadata and its Markdown body."""
    card = HubModelCard(text)
    assert isinstance(card.data, ModelCardData)
    return card.data, str(card.text)


def as_dict(data: ModelCardData) -> dict[str, Any]:
    found: dict[str, Any] = data.to_dict()  # type: ignore[no-untyped-call]
    return found


def front_matter(text: str) -> dict[str, Any]:
    match = REGEX_YAML_BLOCK.search(text)
    assert match is not None
    data = yaml.safe_load(match.group(2))
    assert isinstance(data, dict)
    return data


def test_the_card_parses_with_huggingface_hub(built: tuple[Path, Path]) -> None:
    root, site = built
    text = (site / "v1/models/silero-vad/1.1.0/README.md").read_text()
    data, body = hub_card(text)
    front = front_matter(text)
    assert as_dict(data) == front  # what the library reads is all the file says
    ModelCardData(**front)  # and the front matter is valid ModelCardData (model-index included)
    assert data.license == "mit" and data.library_name == "pytorch"
    assert data.pipeline_tag == "voice-activity-detection"
    assert data.tags == ["audio", "speech", "voice-activity-detection", "onnx"]
    assert data.datasets == ["mozilla-foundation/common_voice_13_0", "google/fleurs"]
    assert data.model_name == "silero-vad"
    results = [
        (r.metric_type, r.metric_value, r.dataset_type, r.dataset_split)
        for r in data.eval_results or []
    ]
    assert results == [
        ("roc_auc", 0.91, "ava-speech", "test"),
        ("roc_auc", 0.95, "google/fleurs", "test"),
    ]
    assert "base_model" not in front  # a registry reference is no Hub model id
    headings = re.findall(r"^#+ (.*)$", body, re.MULTILINE)
    for title in (
        "silero-vad 1.1.0",
        "Uses",
        "Direct Use",
        "Out-of-Scope Use",
        "Bias, Risks, and Limitations",
        "Training Details",
        "Evaluation",
        "Environmental Impact",
        "Provenance",
    ):
        assert title in headings, title
    manifest = loaded(root, "silero-vad", "1.1.0")
    assert manifest.intended_use in body and manifest.description in body
    # The Provenance section links the record, the base model's record and the SBOMs, absolute.
    links = re.findall(r"<(https://[^>]+)>", body)
    record = f"{BASE_URL}v1/models/silero-vad/1.1.0/index.json"
    assert record in links and f"{BASE_URL}v1/models/silero-vad/1.0.0/index.json" in links
    for link in links:
        assert link.startswith(BASE_URL)
        assert (site / link.removeprefix(BASE_URL)).is_file(), link
    assert {"sbom.spdx.json", "sbom.spdx3.json", "sbom.cdx.json"} <= {
        link.rsplit("/", 1)[1] for link in links
    }
    assert "`silero-vad@1.0.0`" in body


def test_example_registry_build_writes_a_card_per_version(tmp_path: Path) -> None:
    site = tmp_path / "site"
    code, _, err = run("build", "--root", PROJECT, "--out", site)
    assert code == 0, err
    for version in EXAMPLE_VERSIONS:
        text = (site / "v1/models" / version / "README.md").read_text()
        data, body = hub_card(text)
        assert as_dict(data) == front_matter(text)
        name, number = version.split("/")
        assert body.lstrip().startswith(f"# {name} {number}\n")
    iris, body = hub_card((site / "v1/models/iris-mlp/1.1.0/README.md").read_text())
    assert iris.license == "apache-2.0" and iris.datasets == ["iris"]
    assert "- **Base model:** `iris-mlp@1.0.0`" in body


def version_manifest(tmp_path: Path, **fields: Any) -> Manifest:
    data = manifest_data(VALID_REAL_MODELS["silero_vad.onnx"], "vad", "1.0.0")
    data.update(schema_version="1.2", **fields)
    path = tmp_path / "manifest.yaml"
    path.write_text(dump_manifest(data))
    manifest, findings = load_manifest(path, "manifest.yaml")
    assert manifest is not None, findings
    return manifest


@pytest.mark.parametrize(
    ("spdx", "expected"),
    [
        ("Apache-2.0", {"license": "apache-2.0"}),
        ("GPL-3.0-only", {"license": "gpl-3.0"}),
        (
            "0BSD",
            {
                "license": "other",
                "license_name": "0bsd",
                "license_link": "https://spdx.org/licenses/0BSD.html",
            },
        ),
        ("MIT OR Apache-2.0", {"license": "other", "license_name": "mit-or-apache-2.0"}),
    ],
)
def test_spdx_licenses_as_the_hub_names_them(
    tmp_path: Path, spdx: str, expected: dict[str, str]
) -> None:
    front = front_matter(hfcard.render(version_manifest(tmp_path, license=spdx), BASE_URL))
    assert {k: v for k, v in front.items() if k.startswith("license")} == expected


def test_manifest_text_cannot_change_the_card(tmp_path: Path) -> None:
    """Plain values are shown literally: a name cannot open a link, a tag or a table cell, and
    the front matter is YAML the library wrote, whatever the strings hold."""
    manifest = version_manifest(
        tmp_path,
        publisher={"name": "<img src=x onerror=alert(1)> **[click](javascript:x)**"},
        tags=["a", "b-c"],
        lineage={
            "datasets": [
                {"name": "x`y|z", "role": "evaluation", "url": "https://example.org/a b)c"}
            ]
        },
        metrics=[{"name": "f1 | injected", "value": 1, "dataset": "x`y|z", "split": "a|b"}],
        license="Apache-2.0",
        model_card={"task": "x\n---\nlicense: mit", "training": {"hyperparameters": {"k": "`v`"}}},
    )
    text = hfcard.render(manifest, BASE_URL)
    data, _ = hub_card(text)
    assert as_dict(data) == front_matter(text)
    assert data.pipeline_tag == "x\n---\nlicense: mit" and data.license == "apache-2.0"
    publisher = next(line for line in text.splitlines() if "Published by" in line)
    assert "\\<img" in publisher and not re.search(r"(?<!\\)[<>\[\]()*]", publisher[19:])
    row = next(line for line in text.splitlines() if line.startswith("| f1"))
    assert len(re.findall(r"(?<!\\)\|", row)) == 5  # 4 cells: GFM splits code spans too
    assert "(<https://example.org/a%20b%29c>)" in text
    assert "- k: `` `v` ``" in text
    again = read_card_text(tmp_path, text)
    assert again.model_card is not None and again.model_card.training is not None
    assert dict(again.model_card.training.hyperparameters) == {"k": "`v`"}


def read_card_text(folder: Path, text: str) -> Any:
    path = folder / "README.md"
    path.write_text(text)
    return read_card(path, folder)


# Found by attacking the card reader and writer (each failed before its fix).


def test_an_alias_bomb_in_the_front_matter_is_refused(tmp_path: Path) -> None:
    """The library's YAML loader keeps aliases; expanding them took 5 GB. The card's front
    matter goes through the manifest's safe loader first."""
    levels = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    card = tmp_path / "bomb.md"
    card.write_text("---\nlicense: mit\n" + "\n".join(levels) + "\n---\n# Bomb\n")
    root = tmp_path / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text("name: cards\n")
    code, _, err = add_with_card(root, card, "bomb", "1.0.0")
    assert code == 1
    assert "the card's front matter (line 3): anchor &a0: anchors and aliases" in err
    assert not (root / "models").exists()


@pytest.mark.parametrize(
    "body",
    [
        "# a" + " " * 1_000_000 + "x\n",
        "## Training Hyperparameters\n\n- a" + " " * 1_000_000 + "x\n",
        "## Environmental Impact\n\n- a" + " " * 1_000_000 + "x\n",
        "## Training Hyperparameters\n\n- k: " + "`" * 500_000 + "\n",
    ],
    ids=["heading", "hyperparameter", "environment", "backticks"],
)
def test_long_lines_are_read_in_linear_time(tmp_path: Path, body: str) -> None:
    """Each of these took quadratic time in a backtracking regex (a 100,000-blank line: more
    than 20 s); at a million, that would be hours. In a subprocess with a deadline."""
    path = tmp_path / "README.md"
    path.write_text("---\nlicense: mit\n---\n" + body)
    script = (
        "import sys; from pathlib import Path; from registry.authoring.modelcard import read_card;"
        "read_card(Path(sys.argv[1]), Path(sys.argv[2]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=PROJECT,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_hyperparameter_names_from_a_card_are_quoted_in_the_manifest(tmp_path: Path) -> None:
    card = tmp_path / "README.md"
    card.write_text(
        "---\nlicense: mit\n---\n# M\n\nA model.\n\n## Training Hyperparameters\n\n"
        "- null: 3\n- true: 1\n- &a x: 1\n- <<: 2\n- lr #c: 9\n- learning\\_rate: 0.1\n"
    )
    root = tmp_path / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text("name: cards\n")
    code, out, err = add_with_card(root, card, "keys", "1.0.0")
    assert code == 0, out + err
    data = yaml.safe_load((root / "models/keys/1.0.0/manifest.yaml").read_text())
    assert data["model_card"]["training"]["hyperparameters"] == {
        "null": 3,
        "true": 1,
        "&a x": 1,
        "<<": 2,
        "lr #c": 9,
        "learning_rate": 0.1,
    }


def test_hyperparameter_names_and_steps_stay_text_in_the_card(tmp_path: Path) -> None:
    beacon = "<img src=https://evil.example/b.gif> [Approve](https://evil.example/x)"
    manifest = version_manifest(
        tmp_path,
        model_card={
            "training": {"hyperparameters": {beacon: 1}},
            "data_preprocessing": [f"<a href=https://evil.example>click</a> {beacon}"],
        },
    )
    text = hfcard.render(manifest, BASE_URL)
    lines = [line for line in text.splitlines() if "evil.example" in line]
    assert len(lines) == 2
    assert all(not re.search(r"(?<!\\)[<>\[\]()]", line[2:]) for line in lines), lines
    again = read_card_text(tmp_path, text)
    assert again.model_card.training.hyperparameters == {beacon: 1}
