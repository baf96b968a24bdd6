"""The safe YAML loader: each risky feature is refused with its own code, at its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.findings import Position
from registry.load.yamlsafe import load_yaml_file, load_yaml_text


def codes(text: str) -> list[tuple[str, int | None]]:
    loaded, findings = load_yaml_text(text, "m.yaml")
    assert (loaded is None) == bool(findings)
    return [(f.code, f.line) for f in findings]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: &x 1\nb: 2\n", [("yaml.alias", 1)]),
        ("a: 1\nb: *x\n", [("yaml.alias", 2)]),
        ("base: {x: 1}\nother:\n  <<: {y: 2}\n", [("yaml.merge-key", 3)]),
        ("a: 1\nb: 2\na: 3\n", [("yaml.duplicate-key", 3)]),
        ("a: !!str 1\n", [("yaml.tag", 1)]),
        ("a: !custom x\n", [("yaml.tag", 1)]),
        ("a: 1\n---\nb: 2\n", [("yaml.multiple-documents", 2)]),
        ("- a\n- b\n", [("yaml.not-mapping", 1)]),
        ("just a string\n", [("yaml.not-mapping", 1)]),
        ("", [("yaml.not-mapping", 1)]),
        ("a: [1, 2\n", [("yaml.syntax", 2)]),
        ("? [1, 2]\n: x\n", [("yaml.complex-key", 1)]),
        ("country: NO\n", [("yaml.ambiguous-scalar", 1)]),
        ("flag: yes\n", [("yaml.ambiguous-scalar", 1)]),
        ("when: 2024-01-01\n", [("yaml.ambiguous-scalar", 1)]),
        ("mode: 0755\n", [("yaml.ambiguous-scalar", 1)]),
        ("time: 1:20\n", [("yaml.ambiguous-scalar", 1)]),
        ("x: .nan\n", [("yaml.non-finite-number", 1)]),
    ],
)
def test_refusals(text: str, expected: list[tuple[str, int]]) -> None:
    assert codes(text) == expected


def test_every_key_has_a_position() -> None:
    loaded, findings = load_yaml_text(
        "a: 1\nnested:\n  inner: x\n  list:\n    - name: y\n      dtype: z\n", "m.yaml"
    )
    assert loaded is not None and not findings
    assert loaded.position(("a",)) == Position(1, 1)
    assert loaded.position(("nested", "inner")) == Position(3, 3)
    assert loaded.position(("nested", "list", 0)) == Position(5, 7)
    assert loaded.position(("nested", "list", 0, "dtype")) == Position(6, 7)
    assert loaded.position(("nested", "missing")) == Position(2, 1)


def test_yaml12_core_schema_resolution() -> None:
    loaded, _ = load_yaml_text(
        "i: 10\nf: 1.5\nt: true\nn: null\ne:\ns: hello\nq: '1.10'\nhex: 0x1F\n", "m.yaml"
    )
    assert loaded is not None
    assert loaded.data == {
        "i": 10,
        "f": 1.5,
        "t": True,
        "n": None,
        "e": None,
        "s": "hello",
        "q": "1.10",
        "hex": 31,
    }
    assert loaded.plain_non_strings[("f",)] == "1.5"
    assert ("q",) not in loaded.plain_non_strings


def test_billion_laughs_is_refused_without_expansion() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [{','.join(['*' + prev] * 9)}]")
    found = codes("\n".join(lines) + "\n")
    assert found and {code for code, _ in found} == {"yaml.alias"}


def test_size_cap_is_checked_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 2000 + "\n")
    loaded, findings = load_yaml_file(path, "big.yaml", max_bytes=1024)
    assert loaded is None
    assert [f.code for f in findings] == ["yaml.too-large"]
    assert "limits.yaml_max_bytes" in findings[0].message


def test_non_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: Jos\xe9\n".encode("latin-1"))
    _, findings = load_yaml_file(path, "latin1.yaml")
    assert [f.code for f in findings] == ["yaml.encoding"]


def test_deep_nesting_is_refused() -> None:
    assert codes("a: " + "[" * 100 + "]" * 100 + "\n") == [("yaml.too-deep", 1)]
