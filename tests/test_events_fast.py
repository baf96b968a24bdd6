"""The fast paths of the event log's derivation read exactly what the slow ones do: the YAML fast
path against the safe loader (tricky documents, generated ones), the streamed log and blobs
against one-shot reads, the chain against its plain definition, and derive() itself against a
derivation that reads every blob with the full loader."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.eventlog import derive as derive_module
from registry.eventlog.chain import GENESIS, Event, Record, chain
from registry.infra import git as gitops
from registry.infra import gitstream
from registry.load.jsonequal import same_json
from registry.load.yamlsafe import fast as fast_module
from registry.load.yamlsafe import load_yaml_bytes
from registry.load.yamlsafe.fast import EntryCache, load_yaml_data
from tests.factories.registries import add_report, add_version, edit_manifest
from tests.helpers import commit_all, git, run


def full(raw: bytes) -> dict[str, Any] | None:
    loaded, _ = load_yaml_bytes(raw, "m.yaml")
    return loaded.data if loaded is not None else None


def same_reading(raw: bytes) -> None:
    """The fast path agrees with the loader: alone, again from a warm cache, and shared."""
    expected = full(raw)
    cache = EntryCache()
    for _ in range(2):
        assert load_yaml_data(raw, cache=cache) == expected, raw
        assert load_yaml_data(raw, cache=cache, shared=True) == expected, raw
    assert load_yaml_data(raw) == expected, raw
    # Same types too (1 == 1.0 == True in Python): compare the JSON text.
    got = load_yaml_data(raw, cache=cache)
    assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True), raw


TRICKY = [
    # What the loader refuses: anchors, aliases, merge keys, duplicates, tags, documents...
    "a: &x 1\nb: 2\n",
    "a: 1\nb: *x\n",
    "a: &x 1\nb: *x\n",
    "base: {x: 1}\n<<: {y: 2}\n",
    "other:\n  <<: {y: 2}\n",
    "a: 1\nb: 2\na: 3\n",
    "a: {x: 1, x: 2}\n",
    "a: !!str 1\n",
    "a: !custom x\n",
    "%YAML 1.2\n---\na: 1\n",
    "%TAG ! tag:example.org,2000:\n---\na: !x 1\n",
    "a: 1\n---\nb: 2\n",
    "---\na: 1\n",
    "a: 1\n...\nb: 2\n",
    "a: 1\n...\n",
    "- a\n- b\n",
    "just a string\n",
    "",
    "\n",
    "# only a comment\n",
    "a: [1, 2\n",
    "a: [1,\n  2]\n",
    "a: [1,\n2]\nb: 3\n",
    "a: {x: 1,\ny: 2}\n",
    '"a": 1\n',
    "'a': 1\n",
    "? [1, 2]\n: x\n",
    "? a\n: x\n",
    "[a]: x\n",
    "a:\n- 1\n- 2\n",
    "a:\n  - 1\n  - 2\nb: x\n",
    # YAML 1.1 readings the loader refuses, and what it resolves specially.
    "country: NO\n",
    "flag: yes\n",
    "flag: on\n",
    "when: 2024-01-01\n",
    "mode: 0755\n",
    "time: 1:20\n",
    "x: .nan\n",
    "x: -.inf\n",
    "big: " + "9" * 200 + "\n",
    "i: 10\nf: 1.5\nt: true\nn: null\ne:\ns: hello\nq: '1.10'\nhex: 0x1F\noct: 0o17\n",
    "v: 1.10\n",
    "v: 1e3\n",
    "v: 1.0e+3\n",
    "v: ~\nw: Null\nx: NULL\ny: TRUE\nz: False\n",
    "a: -0\nb: +1\nc: -0.0\nd: .5\n",
    "a: 0b101\n",
    "a: 1_000\n",
    "a: 12:30:45\n",
    # Scalars: quoting, escapes, control characters, multi-line forms.
    'a: "line\\nbreak"\n',
    'a: "tab\\there"\n',
    'a: "bell\\a"\n',
    'a: "\\u200b"\n',
    "a: 'it''s'\n",
    'a: "multi\n  line"\n',
    'a: "multi\nb: 2"\n',
    "a: 'open\n",
    "a: plain\n  continued\nb: 2\n",
    "a: plain\ncontinued\n",
    "a: |\n  literal\n  text\nb: 2\n",
    "a: |\n  literal\n",
    "a: |\n  literal",
    "a: |+\n  keep\n\n\nb: 2\n",
    "a: |+\n  keep\n\n# c\nb: 2\n",
    "a: |-\n  strip\n\nb: 2\n",
    "a: >\n  folded\n  text\n\n  more\nb: 2\n",
    "a: |\nb: 2\n",
    "a: |2\n   indented\nb: 2\n",
    "a: |\n  x\n\n",
    "a: >-\n\n  x\n",
    # Comments, blank lines, preambles, indentation.
    "# head\n\na: 1 # trailing\n\n# middle\nb: [1, 2] # c\n",
    "  # indented comment\na: 1\n",
    "   \na: 1\n",
    "a: 1\n  \nb: 2\n",
    "a: 1\n\t\nb: 2\n",
    "a:\n\tb: 1\n",
    "a: x#not-a-comment\n",
    "a: x #comment\n",
    "nested:\n  inner: x\n  list:\n    - name: y\n      dtype: z\n",
    "nested:\n  inner: x\n inner2: y\n",
    "a:\n  b: 1\n c: 2\n",
    "a: 1\nb:\n",
    "a:\nb:\n",
    "a: b: c\n",
    "a:b\n",
    "a\n",
    "a: 1\nb\n",
    "a : 1\n",
    "a  : 1\n",
    "1: x\n2: y\n",
    "_a: 1\n",
    "a b: 1\n",
    "a: 1\n-b: 2\n",
    "a: 1\n:b: 2\n",
    "a: 1\n.b: 2\n",
    "a: 1\n&b: 2\n",
    "a: 1\n*b: 2\n",
    "a: 1\n!b: 2\n",
    "a: 1\n%b: 2\n",
    "a: 1\n@b: 2\n",
    "a: 1\n`b: 2\n",
    "a: 1\n|b: 2\n",
    "a: 1\n{b: 2}\n",
    "a: 1\n}\n",
    "é: 1\n",
    "a: é\n",
    "a: 1\nb: 2",  # no last line break
    "a: [1, 2]\nb: {c: d}\n",
    "a: {b: {c: {d: [1, [2, [3]]]}}}\n",
    "a: " + "[" * 70 + "]" * 70 + "\n",
    "a: " + "[" * 60 + "]" * 60 + "\n",
    "deep:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 70)),
    # Line breaks other than \n, byte order marks, control characters in comments.
    "a: 1\r\nb: 2\r\n",
    "a: 1\rb: 2\n",
    "a: 1\r...\rb: 2\n",
    "a: 1\n  x\r...\rb: 2\n",
    "a: 1\x85b: 2\n",
    "a: 1\u2028b: 2\n",
    "a: 1\u2029b: 2\n",
    "\ufeffa: 1\n",
    "a: 1\n\ufeffb: 2\n",
    "a: x\ufeffy\n",
    "a: 1 # \x01\n",
    "# \x01\na: 1\n",
    "a: 1\n# \x7f\n",
    "a: \x1b[31m\n",
    "a: \u202eevil\n",
    "a: 1\x00\n",
]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_documents_read_alike(text: str) -> None:
    same_reading(text.encode("utf-8"))


@pytest.mark.parametrize(
    "raw",
    [
        b"a: \xff\n",  # not UTF-8
        b"\xef\xbb\xbfa: 1\n",  # a BOM, as bytes
        b"a: 1\n" + b"b: x\n" * 10,
        b"a: " + b"x" * 5000 + b"\n",  # an entry too long to remember
    ],
)
def test_tricky_bytes_read_alike(raw: bytes) -> None:
    same_reading(raw)


def test_too_large_is_refused_by_both() -> None:
    raw = "".join(f"k{i}: 1\n" for i in range(100)).encode()
    assert load_yaml_data(raw, max_bytes=50) is None
    assert load_yaml_bytes(raw, "m.yaml", max_bytes=50)[0] is None
    assert load_yaml_data(raw) == full(raw) is not None


def test_the_result_is_fresh_unless_shared() -> None:
    raw = b"a: {b: [1, 2]}\nc: x\n"
    cache = EntryCache()
    first = load_yaml_data(raw, cache=cache)
    assert first is not None
    first["a"]["b"].append(3)
    assert load_yaml_data(raw, cache=cache) == {"a": {"b": [1, 2]}, "c": "x"}


# Generated documents: lines drawn from what manifests hold and from what trips YAML up.
KEYS = st.sampled_from(["a", "b", "name", "version", "x1", "_k", "a b", "1", "<<", "? a", "- a"])
SCALARS = st.sampled_from(
    [
        "1",
        "1.10",
        "0755",
        "yes",
        "NO",
        "~",
        "null",
        "true",
        ".inf",
        ".nan",
        "2024-01-01",
        "1:20",
        "0x1F",
        "1e3",
        "plain text",
        "x #c",
        "x#c",
        '"quoted"',
        "'single'",
        '"esc\\n"',
        '"open',
        "'open",
        "[1, 2]",
        "[1,",
        "{a: 1}",
        "{a: 1, a: 2}",
        "&x 1",
        "*x",
        "!!str 1",
        "!t x",
        "|",
        "|+",
        ">-",
        "",
        "é",
        "\u200b",
        "a: b",
        "- x",
    ]
)
PIECES = st.one_of(
    st.builds(lambda k, v: f"{k}: {v}", KEYS, SCALARS),
    st.builds(lambda k, v: f"  {k}: {v}", KEYS, SCALARS),
    st.builds(lambda v: f"  - {v}", SCALARS),
    st.builds(lambda v: f"- {v}", SCALARS),
    st.builds(lambda v: f"  {v}", SCALARS),
    st.builds(lambda k: f"{k}:", KEYS),
    st.sampled_from(
        ["", "  ", "# comment", "  # comment", "---", "...", "%YAML 1.2", "\t", "\tx: 1", "]", "}"]
    ),
)
ENDINGS = st.sampled_from(["\n", "\n", "\n", "\r\n", "\r", "\u2028"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(st.tuples(PIECES, ENDINGS), min_size=1, max_size=12),
    last_break=st.booleans(),
)
def test_generated_documents_read_alike(lines: list[tuple[str, str]], last_break: bool) -> None:
    text = "".join(piece + ending for piece, ending in lines)
    if not last_break:
        text = text.rstrip("\n")
    same_reading(text.encode("utf-8"))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab: -#\n\t[]{}'\"|>&*!%?,.1\r")), max_size=40))
def test_generated_noise_reads_alike(text: str) -> None:
    same_reading(text.encode("utf-8"))


# The chain, as it was first written: the definition the fast one must match byte for byte.
def reference_chain(records: list[Record]) -> list[str]:
    def plain(value: Any) -> Any:
        if isinstance(value, dict | MappingProxyType):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    hashes, prev = [], GENESIS
    for seq, record in enumerate(records, start=1):
        body = {
            **{f.name: getattr(record, f.name) for f in dataclasses.fields(record)},
            "payload": plain(record.payload),
            "seq": seq,
            "prev": prev,
        }
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        prev = hashlib.sha256(text.encode()).hexdigest()
        hashes.append(prev)
    return hashes


def test_chain_matches_its_definition() -> None:
    records = [
        Record("ModelRegistered", "m", "1.0.0", "c" * 40, "Zoë", "2025-01-01T00:00:00Z", {}),
        Record(
            "MetadataUpdated",
            "m",
            "1.0.0",
            "d" * 40,
            "a\u202eb",
            "2025-01-02T00:00:00Z",
            MappingProxyType(
                {
                    "changes": {"t": ("x", "y"), 1: 2.5, "n": None, "b": True, "f": 1e300},
                    "removed": ["z"],
                    "nested": [{"k": MappingProxyType({"x": [1, (2, 3)]})}],
                    "text": 'quote " backslash \\ control \x01 emoji 🙂',
                }
            ),
        ),
    ]
    events = chain(records)
    assert [e.hash for e in events] == reference_chain(records)
    assert all(isinstance(e, Event) and isinstance(e.payload, MappingProxyType) for e in events)
    assert events[1].payload["changes"]["t"] == ["x", "y"]
    assert events[1].to_json()["prev"] == events[0].hash
    again = chain(records[1:], start=events[:1])
    assert [e.hash for e in again] == [e.hash for e in events]


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A history with versions, edits, reports, a deletion, odd manifests and a model folder
    named `reports`."""
    root = tmp_path / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text("name: fast\nbase_url: https://models.example.org/\n")
    add_version(root, "alpha", "1.0.0")
    commit_all(root, "alpha", "2025-01-01T10:00:00+00:00")
    add_version(root, "alpha", "1.1.0", tags=["a", "b"])
    add_version(root, "reports", "1.0.0")
    (root / "models" / "reports" / "aliases.yaml").write_text("aliases:\n  stable: 1.0.0\n")
    commit_all(root, "more", "2025-01-02T10:00:00+05:30")
    edit_manifest(root, "alpha", "1.0.0", description="Now described.\n\nTwo lines.")
    add_report(
        root,
        "alpha",
        "1.1.0",
        "2025-01-03-drift.yaml",
        {
            "kind": "drift",
            "measured_at": "2025-01-03T00:00:00Z",
            "drift_score": 0.5,
            "window": "7d",
            "monitor": "m",
        },
    )
    commit_all(root, "edit and drift", "2025-01-03T10:00:00-08:00")
    manifest = root / "models" / "alpha" / "1.1.0" / "manifest.yaml"
    manifest.write_text(manifest.read_text() + "extra: &anchor 1\n")  # refused: unreadable
    commit_all(root, "unreadable", "2025-01-04T10:00:00+00:00")
    manifest.write_text(manifest.read_text().replace("extra: &anchor 1\n", "# fixed\r\n"))
    commit_all(root, "crlf", "2025-01-05T10:00:00+00:00")
    (root / "models" / "reports" / "1.0.0" / "manifest.yaml").unlink()
    commit_all(root, "removed", "2025-01-06T10:00:00+00:00")
    return root


def streamed(root: Path, specs: list[str], rev: str = "HEAD") -> list[gitops.LogEntry]:
    start = gitstream.history_start(root, rev)
    assert start is not None and start.head is not None
    with gitstream.HistoryStream(start.top, specs, start.head) as history:
        return [entry for batch in history.batches() for entry in batch]


def test_the_streamed_history_and_blobs_read_as_the_one_shot_ones(repository: Path) -> None:
    specs = ["models", "registry.yaml"]
    history = streamed(repository, specs)
    assert history == gitops.log(repository, specs)
    names = [c.new_blob for e in history for c in e.changes if c.status != "D"]
    names += ["0" * 40, "HEAD:registry.yaml", "HEAD:missing"]
    blobs = gitstream.BlobStream(repository)
    answers: dict[str, bytes | None] = {}
    for name in names:
        blobs.ask(name)
        blobs.send()
        answers.update(blobs.answers())
    answers.update(blobs.rest())
    blobs.close()
    assert answers == gitops.read_blobs(repository, names)
    assert answers["0" * 40] is None
    assert blobs.asked == blobs.answered == len(names)


def test_merges_read_as_git_log_reads_them(tmp_path: Path) -> None:
    """First-parent history through merges: a merge's changes against its first parent, its
    parents all listed, a side branch's own commits not listed."""
    root = tmp_path / "merges"
    root.mkdir()
    add_version(root, "alpha", "1.0.0")
    commit_all(root, "first", "2025-01-01T10:00:00+00:00")
    git(root, "checkout", "-q", "-b", "side")
    add_version(root, "beta", "1.0.0")
    commit_all(root, "side", "2025-01-02T10:00:00+00:00")
    edit_manifest(root, "beta", "1.0.0", tags=["side"])
    commit_all(root, "side again", "2025-01-03T10:00:00+00:00")
    git(root, "checkout", "-q", "main")
    (root / "README").write_text("not a model\n")
    commit_all(root, "main", "2025-01-04T10:00:00+00:00")
    git(root, "merge", "-q", "--no-ff", "side", "-m", "merge", date="2025-01-05T10:00:00+00:00")
    edit_manifest(root, "alpha", "1.0.0", tags=["after"])
    commit_all(root, "after", "2025-01-06T10:00:00+05:30")
    history = streamed(root, ["models", "registry.yaml"])
    assert history == gitops.log(root, ["models", "registry.yaml"])
    assert [len(e.commit.parents) for e in history] == [0, 2, 1]
    kinds = [e.type for e in chain(derive_module.derive(root).records)]
    assert kinds == ["ModelRegistered", "ModelRegistered", "MetadataUpdated"]


def test_a_shallow_clone_reads_as_git_log_reads_it(repository: Path, tmp_path: Path) -> None:
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "2", repository.as_uri(), str(clone))
    start = gitstream.history_start(clone)
    assert start is not None and (start.top, start.prefix, start.shallow) == (
        clone.resolve(),
        "",
        True,
    )
    assert streamed(clone, ["models"]) == gitops.log(clone, ["models"])
    with pytest.raises(derive_module.ShallowHistory):
        derive_module.derive(clone)
    assert derive_module.derive(clone, allow_shallow=True).partial


def test_where_history_starts(repository: Path, tmp_path: Path) -> None:
    head = git(repository, "rev-parse", "HEAD").strip()
    assert gitstream.history_start(repository) == gitstream.HistoryStart(
        repository.resolve(), "", False, head
    )
    inner = repository / "models" / "alpha"
    assert gitstream.history_start(inner, "HEAD~1") == gitstream.HistoryStart(
        repository.resolve(), "models/alpha/", False, git(repository, "rev-parse", "HEAD~1").strip()
    )
    assert gitstream.history_start(repository, "no-such-revision") == gitstream.HistoryStart(
        repository.resolve(), "", False, None
    )
    assert gitstream.history_start(tmp_path / "nowhere") is None
    (tmp_path / "plain").mkdir()
    assert gitstream.history_start(tmp_path / "plain") is None
    empty = tmp_path / "empty"
    git(tmp_path, "init", "-q", str(empty))
    assert derive_module.derive(empty).records == ()


def test_an_author_holding_the_separators(repository: Path) -> None:
    """A crafted name or e-mail with the field separator in it is read whole, not split."""
    manifest = repository / "models" / "alpha" / "1.0.0" / "manifest.yaml"
    manifest.write_text(manifest.read_text() + "tags: [odd]\n")
    commit_all(repository, "odd", "2025-02-01T10:00:00+00:00", author="Ann\x1fIe \x1ex")
    last = streamed(repository, ["models"])[-1].commit
    assert (last.author, last.email) == ("Ann\x1fIe \x1ex", "tester@example.org")
    events = chain(derive_module.derive(repository).records)
    assert events[-1].author == "Ann\x1fIe \x1ex"
    # The readers validation uses (git log, HEAD, the commit of one path) read it whole too.
    head = gitops.head(repository)
    assert head is not None and head.author == "Ann\x1fIe \x1ex"
    assert gitops.log(repository)[-1].commit.author == "Ann\x1fIe \x1ex"
    path = "models/alpha/1.0.0/manifest.yaml"
    found = gitops.first_parent_commit(repository, path)
    assert found is not None and found.email == "tester@example.org"


def test_a_failing_history_is_an_error(repository: Path) -> None:
    failing = gitstream.HistoryStream(repository, ["models"], "0" * 40)
    with failing, pytest.raises(gitops.GitError, match=r"git rev-list .*failed: fatal: bad object"):
        list(failing.batches())


def children() -> set[int]:
    """This process's child processes (zombies included: a child not reaped is still one)."""
    found = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        found |= {int(pid) for pid in (task / "children").read_text().split()}
    return found


def test_a_consumer_giving_up_leaves_no_process(repository: Path) -> None:
    before = children()
    start = gitstream.history_start(repository)
    assert start is not None and start.head is not None
    history = gitstream.HistoryStream(start.top, ["models"], start.head)
    with pytest.raises(RuntimeError), history:
        for _ in history.batches():
            raise RuntimeError("the consumer failed")
    blobs = gitstream.BlobStream(repository)
    blobs.ask("HEAD:registry.yaml")
    blobs.send()
    blobs.close()  # before any answer is read
    assert children() == before


def test_a_missing_blob_is_an_error_of_derive(repository: Path) -> None:
    """A manifest whose blob is gone (a damaged or partial clone) stops the derivation."""
    start = gitstream.history_start(repository)
    assert start is not None
    blob = streamed(repository, ["models"])[0].changes[0].new_blob
    loose = repository / ".git" / "objects" / blob[:2] / blob[2:]
    loose.unlink()
    with pytest.raises(gitops.GitError, match=f"object {blob} is missing"):
        derive_module.derive(repository)


def test_git_dying_is_an_error_not_a_hang(repository: Path) -> None:
    blobs = gitstream.BlobStream(repository)
    blobs.process.proc.kill()
    blobs.process.proc.wait()
    with pytest.raises(gitops.GitError):
        for name in ("HEAD:registry.yaml",) * 2000:  # more than a pipe holds
            blobs.ask(name)
        blobs.send()
        list(blobs.rest())
    blobs.close()


def test_a_large_blob_arrives_whole(tmp_path: Path) -> None:
    root = tmp_path / "large"
    root.mkdir()
    big = bytes(range(256)) * (12 * 1024 * 1024 // 256)  # 12 MiB: many pipe reads
    (root / "big.bin").write_bytes(big)
    (root / "small.txt").write_bytes(b"small\n")
    commit_all(root, "large", "2025-01-01T10:00:00+00:00")
    blobs = gitstream.BlobStream(root)
    for name in ("HEAD:small.txt", "HEAD:big.bin", "HEAD:small.txt"):
        blobs.ask(name)
    blobs.send()
    answers = list(blobs.answers()) + list(blobs.rest())
    blobs.close()
    assert [raw for _, raw in answers] == [b"small\n", big, b"small\n"]


def test_an_object_name_cannot_hold_a_line_break(repository: Path) -> None:
    blobs = gitstream.BlobStream(repository)
    with pytest.raises(ValueError):
        blobs.ask("HEAD:a\nHEAD:b")
    blobs.close()


def test_derive_reads_as_with_the_full_loader(
    repository: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = chain(derive_module.derive(repository).records)
    read_whole: list[bytes] = []

    def whole(raw: bytes, **_: object) -> Any:
        read_whole.append(raw)
        return full(raw)

    # derive imports the loader when it starts, so the module's own name is the one to replace.
    monkeypatch.setattr(fast_module, "load_yaml_data", whole)
    slow = chain(derive_module.derive(repository).records)
    assert read_whole
    assert [e.to_json() for e in fast] == [e.to_json() for e in slow]
    kinds = [e.type for e in fast]
    assert "ModelBlocked" not in kinds and "DriftReported" in kinds
    assert any(e.type == "MetadataUpdated" and e.payload["unreadable"] for e in fast)
    assert kinds[-1] in ("VersionRemoved", "AliasRemoved")


@pytest.mark.parametrize("folder", ["registry", "registry\udcff"], ids=["ascii", "not-utf8"])
def test_derive_at_the_top_of_a_larger_repository(tmp_path: Path, folder: str) -> None:
    """The registry sits in a folder of the repository (paths carry a prefix), whose name is
    read as Git's paths are, in bytes that need not be UTF-8: they match."""
    outer = tmp_path / "outer"
    root = outer / folder
    root.mkdir(parents=True)
    (root / "registry.yaml").write_text("name: nested\n")
    add_version(root, "alpha", "1.0.0")
    commit_all(outer, "alpha", "2025-01-01T10:00:00+00:00")
    edit_manifest(root, "alpha", "1.0.0", tags=["x"])
    commit_all(outer, "edit", "2025-01-02T10:00:00+00:00")
    git(outer, "log", "--oneline")
    events = chain(derive_module.derive(root).records)
    assert [e.type for e in events] == ["ModelRegistered", "MetadataUpdated"]
    assert [(e.type, e.model) for e in events][:1] == [("ModelRegistered", "alpha")]


def test_a_submodule_where_a_manifest_was_is_an_unreadable_manifest(repository: Path) -> None:
    """A gitlink's object is a commit of another repository: never asked of this one."""
    path = "models/alpha/1.0.0/manifest.yaml"
    kept = (repository / path).read_bytes()
    git(repository, "rm", "-q", "--cached", path)
    git(repository, "update-index", "--add", "--cacheinfo", f"160000,{'1' * 40},{path}")
    git(repository, "commit", "-q", "-m", "a gitlink", date="2025-03-01T10:00:00+00:00")
    git(repository, "reset", "-q", "--hard")
    if (repository / path).is_dir():  # the submodule's empty folder
        (repository / path).rmdir()
    (repository / path).write_bytes(kept)
    git(repository, "add", path)
    commit_all(repository, "the manifest again", "2025-03-02T10:00:00+00:00")
    events = chain(derive_module.derive(repository).records)
    assert events and events[-1].commit == gitops.head(repository).sha  # type: ignore[union-attr]


def test_a_committer_date_past_year_9999_is_a_clear_error(repository: Path) -> None:
    tree = git(repository, "rev-parse", "HEAD^{tree}").strip()
    parent = git(repository, "rev-parse", "HEAD").strip()
    manifest = repository / "models/alpha/1.0.0/manifest.yaml"
    manifest.write_text(manifest.read_text() + "tags: [late]\n")
    git(repository, "add", "-A")
    tree = git(repository, "write-tree").strip()
    body = (
        f"tree {tree}\nparent {parent}\nauthor a <a@example.org> 1700000000 +0000\n"
        "committer a <a@example.org> 253402300800 +0000\n\nfar away\n"
    )
    crafted = (
        subprocess.run(
            ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
            cwd=repository,
            input=body.encode(),
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    git(repository, "update-ref", "HEAD", crafted)
    code, _, err = run("events", "--root", str(repository))
    assert code == 1 and "Traceback" not in err
    assert f"commit {crafted} has the committer date" in err


def test_a_value_of_another_json_type_is_an_update(tmp_path: Path) -> None:
    """Python holds 821 == 821.0 and 1 == True; the published manifest does not."""
    root = tmp_path / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text("name: typed\n")
    add_version(root, "alpha", "1.0.0", extra={"size": 821, "flags": [1]})
    commit_all(root, "alpha", "2025-01-01T10:00:00+00:00")
    edits = [{"size": 821.0, "flags": [1]}, {"size": 821.0, "flags": [True]}]
    for day, extra in enumerate(edits, start=2):
        edit_manifest(root, "alpha", "1.0.0", extra=extra)
        commit_all(root, f"edit {day}", f"2025-01-0{day}T10:00:00+00:00")
    edit_manifest(root, "alpha", "1.0.0", extra={"size": 821.0, "flags": [True]}, tags=["t"])
    commit_all(root, "tags only", "2025-01-05T10:00:00+00:00")
    events = chain(derive_module.derive(root).records)
    updates = [e.payload["changes"] for e in events if e.type == "MetadataUpdated"]
    assert updates == [
        {"extra": {"size": 821.0, "flags": [1]}},
        {"extra": {"size": 821.0, "flags": [True]}},
        {"tags": ["t"]},
    ]
    assert json.dumps(updates[0]) != json.dumps(updates[1])


NAN = float("nan")


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (821, 821.0, False),
        (1, True, False),
        (0.0, -0.0, False),
        ([{"x": 0.0}], [{"x": -0.0}], False),
        ({"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": 1}, True),
        ([1, 2], [1, 2, 3], False),
        (NAN, float("nan"), True),  # json writes NaN the same each time
        ([{"value": NAN}], [{"value": float("nan")}], True),
        (2**70, 2**70, True),
        (None, None, True),
        ("1", 1, False),
    ],
)
def test_values_are_the_same_when_their_json_is(a: Any, b: Any, same: bool) -> None:
    assert same_json(a, b) is same
    assert same_json(b, a) is same
    assert (json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)) is same


def test_names_not_utf8_in_git_are_refused_not_merged_into_one(repository: Path) -> None:
    """`models/x\\xff` and `models/x\\xfe` are two folders. Read with "replace" both were
    `x\\ufffd`, and the second one's version was logged as an edit of the first one's."""
    for name in ("x\udcff", "x\udcfe"):  # bytes 0xff and 0xfe, as Python names such files
        shutil.copytree(repository / "models/alpha/1.0.0", repository / "models" / name / "1.0.0")
    head = commit_all(repository, "names validation refuses, pushed", "2025-03-01T10:00:00+00:00")
    code, _, err = run("events", "--root", str(repository))
    assert code == 1 and "Traceback" not in err
    assert f"commit {head} has the path models/x\\xfe/1.0.0/" in err
    assert "which is not UTF-8" in err


def test_an_author_not_in_utf8_reads_as_before(repository: Path) -> None:
    """Paths keep their bytes; an author's name is read as git writes it, invalid bytes replaced."""
    edit_manifest(repository, "alpha", "1.0.0", description="By a name in no encoding.")
    commit_all(repository, "0xff", "2025-03-01T10:00:00+00:00", author="Ann \udcff")
    events = chain(derive_module.derive(repository).records)
    assert events[-1].type == "MetadataUpdated"
    assert events[-1].author == git(repository, "log", "-1", "--format=%an").strip()
    assert events[-1].author.encode("utf-8")
