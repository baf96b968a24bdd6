"""The usage snippets of a version page, as text: `modelreg fetch`, curl + sha256sum, a Python
download that needs nothing but the standard library, and the loader of the model's format.
Pure functions of the version record (and the registry's URL).

Names in a registry are untrusted. Every value a snippet takes from the record lands quoted for
its language (shlex.quote for the shell, repr() for Python) and never inside a comment, so that
no model, file or input name can break out of the code it is shown in.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from registry.infra.urlnames import url_file_name


@dataclass(frozen=True, slots=True)
class Snippet:
    key: str  # the block's id on the page: use-<key>
    title: str
    language: str  # "shell" or "python"
    text: str
    note: str = ""  # shown beside the code (what to know before running it)


@dataclass(frozen=True, slots=True)
class DownloadFile:
    """One file of a version as the snippets download it."""

    name: str  # where it is written, relative to the current folder
    sha256: str
    url: str


# A name a URL artifact may be saved under as it is: plain, and not an option to curl.

# Element types numpy and torch have, by the registry's dtype names (DESIGN.md vocabulary).
_NUMERIC = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8")
_NUMPY_DTYPES = {name: f"np.{name}" for name in (*_NUMERIC, "uint16", "uint32", "uint64")}
_NUMPY_DTYPES |= {"bool": "np.bool_", "complex64": "np.complex64", "complex128": "np.complex128"}
_TORCH_DTYPES = {name: f"torch.{name}" for name in (*_NUMERIC, "bfloat16", "bool")}
_TORCH_DTYPES |= {"complex64": "torch.complex64", "complex128": "torch.complex128"}

TORCHSCRIPT_TRUST = (
    "Loading TorchScript runs code from the file: load only a file this registry validated "
    "and whose SHA-256 you verified (both download snippets above check it)."
)


def usage_snippets(record: Mapping[str, Any], registry_url: str) -> tuple[Snippet, ...]:
    """Every snippet of the version page, in the order shown; none when two files would be saved
    under one name (compared ignoring case): one would replace the other, verified or not."""
    files = download_files(record)
    if len({f.name.casefold() for f in files}) < len(files):
        return ()
    found = [
        Snippet("fetch", "modelreg", "shell", fetch_command(record, registry_url)),
        Snippet("curl", "curl and sha256sum", "shell", curl_commands(files)),
        Snippet("python", "Python (standard library only)", "python", python_download(files)),
    ]
    loader = loader_snippet(record, files)
    if loader is not None:
        found.append(loader)
    return tuple(found)


def download_files(record: Mapping[str, Any]) -> tuple[DownloadFile, ...]:
    """The artifact, then its external data, each with the URL the record gives it (a file
    without one cannot be downloaded and is left out)."""
    art = record["artifact"]
    name = art["path"] or url_file_name(art["url"] or "")  # as modelreg fetch names it
    entries = [(name, art["sha256"], art["url"])]
    entries += [(e["path"], e["sha256"], e["url"]) for e in art["external_data"]]
    return tuple(DownloadFile(n, sha, url) for n, sha, url in entries if url)


def _shell_path(name: str) -> str:
    # A name starting with "-" would read as an option ("-o -" even as standard output).
    return shlex.quote(f"./{name}" if name.startswith("-") else name)


def fetch_command(record: Mapping[str, Any], registry_url: str) -> str:
    words = ["modelreg", "fetch", f"{record['name']}@{record['version']}"]
    words += ["--registry", registry_url]
    if record["status"] == "deprecated":
        words.append("--allow-deprecated")
    return shlex.join(words) + "\n"


def curl_commands(files: Sequence[DownloadFile]) -> str:
    # -g: curl would read `{a,b}` and `[1-9]` in a URL as several URLs; the registry's are one.
    lines = [
        f"curl -fgL --create-dirs -o {_shell_path(f.name)} {shlex.quote(f.url)}" for f in files
    ]
    # A quoted here-document is never expanded; each line starts with the hex digest, so none
    # can be the terminator. Names are plain (no newline or backslash: validation refuses them).
    lines += ["sha256sum -c <<'EOF'", *(f"{f.sha256}  {f.name}" for f in files), "EOF"]
    return "\n".join(lines) + "\n"


_PYTHON_DOWNLOAD = """\
for path, expected, url in FILES:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    partial = path + ".part"
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != expected:
            raise SystemExit(f"{path}: SHA-256 {digest.hexdigest()} is not {expected}")
    except BaseException:
        if os.path.exists(partial):
            os.remove(partial)
        raise
    os.replace(partial, path)
    print("verified", path)
"""


def python_download(files: Sequence[DownloadFile]) -> str:
    """Downloads each file and keeps it only if its SHA-256 is the record's."""
    lines = [
        "# Downloads each file, and keeps it only if its SHA-256 is the registry's.",
        "import hashlib",
        "import os",
        "import urllib.request",
        "",
        "FILES = [  # (where to write it, SHA-256, URL)",
        *(f"    ({f.name!r}, {f.sha256!r}, {f.url!r})," for f in files),
        "]",
        "",
    ]
    return "\n".join(lines) + "\n" + _PYTHON_DOWNLOAD


def loader_snippet(record: Mapping[str, Any], files: Sequence[DownloadFile]) -> Snippet | None:
    """How to run the model in its format's runtime, on zeros of each declared input's shape;
    None for a format (a plugin's) without one, or a version with no downloadable file."""
    if not files:
        return None
    model_format = record["manifest"]["format"]
    inputs = record["manifest"]["input_shape"]
    path = files[0].name
    if model_format == "onnx":
        return Snippet("loader", "ONNX Runtime", "python", _onnx(path, inputs))
    if model_format == "tflite":
        return Snippet("loader", "TensorFlow Lite", "python", _tflite(path, inputs))
    if model_format == "torchscript":
        text = _torchscript(path, inputs)
        return Snippet("loader", "TorchScript", "python", text, TORCHSCRIPT_TRUST)
    return None


def _shape(shape: Sequence[int | str | None]) -> str:
    """A Python tuple of the shape, with 1 for each symbolic or unknown dimension."""
    dims = [str(d) if isinstance(d, int) and not isinstance(d, bool) else "1" for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def _value(spec: Mapping[str, Any], dtypes: Mapping[str, str], zeros: str) -> str:
    """`zeros(shape, dtype=...)` for a tensor of a known dtype and rank; else None to fill in."""
    dtype = dtypes.get(str(spec.get("dtype")))
    shape = spec.get("shape")
    if dtype is None or shape is None:
        return "None,  # fill in: not a tensor of a known element type and rank"
    return f"{zeros}({_shape(shape)}, dtype={dtype}),"


def _inputs(specs: Sequence[Mapping[str, Any]], dtypes: Mapping[str, str], zeros: str) -> str:
    lines = [f"    {str(s['name'])!r}: {_value(s, dtypes, zeros)}" for s in specs]
    return "\n".join(["inputs = {", *lines, "}"])


_ZEROS_NOTE = "# Zeros of each input's shape, with 1 for every symbolic or unknown dimension."


def _onnx(path: str, inputs: Sequence[Mapping[str, Any]]) -> str:
    return "\n".join(
        [
            "import numpy as np",
            "import onnxruntime as ort",
            "",
            f'session = ort.InferenceSession({path!r}, providers=["CPUExecutionProvider"])',
            _ZEROS_NOTE,
            _inputs(inputs, _NUMPY_DTYPES, "np.zeros"),
            "outputs = session.run(None, inputs)",
            "for output, value in zip(session.get_outputs(), outputs):",
            '    print(output.name, getattr(value, "shape", type(value).__name__))',
            "",
        ]
    )


def _tflite(path: str, inputs: Sequence[Mapping[str, Any]]) -> str:
    return "\n".join(
        [
            "import numpy as np",
            "",
            "try:",
            "    from tflite_runtime.interpreter import Interpreter",
            "except ImportError:",
            "    try:  # LiteRT, tflite_runtime's successor",
            "        from ai_edge_litert.interpreter import Interpreter",
            "    except ImportError:  # the full TensorFlow",
            "        import tensorflow as tf",
            "",
            "        Interpreter = tf.lite.Interpreter",
            "",
            f"interpreter = Interpreter(model_path={path!r})",
            'details = {detail["name"]: detail for detail in interpreter.get_input_details()}',
            _ZEROS_NOTE,
            _inputs(inputs, _NUMPY_DTYPES, "np.zeros"),
            "for name, value in inputs.items():",
            '    interpreter.resize_tensor_input(details[name]["index"], value.shape)',
            "interpreter.allocate_tensors()",
            "for name, value in inputs.items():",
            '    interpreter.set_tensor(details[name]["index"], value)',
            "interpreter.invoke()",
            "for detail in interpreter.get_output_details():",
            '    print(detail["name"], interpreter.get_tensor(detail["index"]).shape)',
            "",
        ]
    )


def _torchscript(path: str, inputs: Sequence[Mapping[str, Any]]) -> str:
    return "\n".join(
        [
            "# Loading TorchScript runs code from the file: load only a file this registry",
            "# validated and whose SHA-256 you verified (the download snippets check it).",
            "import torch",
            "",
            f'model = torch.jit.load({path!r}, map_location="cpu")',
            "model.eval()",
            _ZEROS_NOTE,
            _inputs(inputs, _TORCH_DTYPES, "torch.zeros"),
            "with torch.no_grad():",
            "    output = model(*inputs.values())",
            'print(getattr(output, "shape", output))',
            "",
        ]
    )
