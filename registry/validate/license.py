"""The license stage: the model's license is a valid SPDX expression (`license.invalid`, with
the ids a common mistake most likely meant), names no deprecated SPDX id
(`license.deprecated-id`), and keeps the clauses of the datasets the model learned from
(`license.dataset-conflict`, by the rules of governance/licenses.py).

What SPDX ids exist, which are deprecated and what replaced them comes from the SPDX license list
as license-expression ships it (ids, deprecated ids as aliases of their replacements, ScanCode's
deprecated flag); it ships no full names, so names are compared with the ids after rewriting the
words full names use (General Public -> GPL, Attribution -> BY, License, version, v…).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable, Iterator
from difflib import get_close_matches

from license_expression import ExpressionError

from registry.findings import Finding, error, warning
from registry.governance.licenses import dataset_conflict, spdx_licensing
from registry.load.manifest import Manifest

SPDX_LIST = "https://spdx.org/licenses/"

_OPERATORS = {"AND", "OR", "WITH"}
_LICENSE_REF = re.compile(r"^LicenseRef-[A-Za-z0-9.-]+$")
# What the SPDX license list (as license-expression ships it: ids, deprecated ids as aliases of
# the current ones, a deprecated flag) cannot tell:
# - aliases ScanCode accepts that were never SPDX ids, and current ids it files as aliases;
_NOT_SPDX_IDS = frozenset({"GPL", "BSD-2"})
_CURRENT_ALIASES = frozenset({"Verbatim-man-pages"})
# - names with no SPDX id of their own, and the ids people mean by them;
_NO_SPDX_ID = {
    "bsd": ("BSD-3-Clause", "BSD-2-Clause"),
    "newbsd": ("BSD-3-Clause",),
    "modifiedbsd": ("BSD-3-Clause",),
    "simplifiedbsd": ("BSD-2-Clause",),
    "freebsd": ("BSD-2-Clause",),
    "publicdomain": ("CC0-1.0", "Unlicense"),
}
# - deprecated ids replaced by an expression that names no part of them.
_REPLACED_BY_EXPRESSION = {
    "eCos-2.0": "GPL-2.0-or-later WITH eCos-exception-2.0",
    "wxWindows": "GPL-2.0-or-later WITH WxWindows-exception-3.1",
}
# Full-name words and spelling noise, rewritten to what the ids say (GNU General Public License
# v3.0 only -> gpl 3 only; Creative Commons Attribution 4.0 International -> cc by 4).
_NAME_WORDS = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"\s*\+|\bor[\s-]*(any[\s-]*)?later([\s-]*version)?\b", " or later "),
        (r"\bgnu\b", ""),
        (r"\b(lesser|library) general public\b", "lgpl"),
        (r"\baffero general public\b", "agpl"),
        (r"\bgeneral public\b", "gpl"),
        (r"\bfree documentation\b", "gfdl"),
        (r"\bmozilla public\b", "mpl"),
        (r"\beclipse public\b", "epl"),
        (r"\bboost software\b", "bsl"),
        (r"\bcreative commons\b", "cc"),
        (r"\battribution\b", "by"),
        (r"\bnon[\s-]?commercial\b", "nc"),
        (r"\bshare[\s-]?alike\b", "sa"),
        (r"\bno[\s-]?deriv(ative)?s\b", "nd"),
        (r"\b(the|licen[cs]e|version|international|unported)\b", ""),
        (r"(?<![a-z])v(?=\d)|(?<=[a-z])v(?=\d)", ""),  # v2.1, GPLv3
        (r"(\d+)(?:\.0)+(?![.\d])", r"\1"),  # 2.0 -> 2
    )
)
_MAX_REWRITTEN = 1000  # characters
_VERSIONED = re.compile(r"([a-z][a-z\s-]*?)[\s-]*(\d+(?:\.\d+)*)")


@functools.cache
def _spdx_identifiers() -> dict[str, str]:
    """Every SPDX license and exception identifier (deprecated ones too) -> its current id."""
    found = {}
    for key, symbol in spdx_licensing().known_symbols.items():
        if key.startswith("LicenseRef-"):
            continue  # ScanCode's own references, not SPDX list entries
        for name in (key, *symbol.aliases):
            if " " not in name and not name.startswith("LicenseRef-") and name not in _NOT_SPDX_IDS:
                found[name] = key
    return found


def _words(name: str) -> str:
    text = name.lower()
    for pattern, replacement in _NAME_WORDS:
        text = pattern.sub(replacement, text)
    return text


def _canon(name: str) -> str:
    """`name` compared case-, space-, punctuation- and noise-insensitively."""
    return re.sub(r"[^a-z0-9]", "", _words(name))


def _unordered(name: str) -> str:
    return " ".join(sorted(re.findall(r"[a-z]+|[0-9][0-9.]*", _words(name))))


def _names(key: str, aliases: tuple[str, ...]) -> Iterator[str]:
    yield key
    yield from (a for a in aliases if not a.startswith("LicenseRef-") and a not in _NOT_SPDX_IDS)
    yield re.sub(r"-(only|or-later)$", "", key)  # GPL-3 means either: both are suggested


@dataclasses.dataclass(frozen=True, slots=True)
class _Names:
    exact: dict[str, list[str]]  # canonical name -> the ids it names
    latest: dict[str, dict[tuple[int, ...], str]]  # name without version -> version -> canon
    unordered: dict[str, list[str]]  # its words in any order (3-Clause BSD) -> the ids


@functools.cache
def _suggestion_index() -> _Names:
    names = _Names({}, {}, {})
    for key, symbol in spdx_licensing().known_symbols.items():
        if key.startswith("LicenseRef-") or symbol.is_deprecated:
            continue
        for name in _names(key, symbol.aliases):
            canon = _canon(name)
            for index, found in ((names.exact, canon), (names.unordered, _unordered(name))):
                if key not in index.setdefault(found, []):
                    index[found].append(key)
            if versioned := _VERSIONED.fullmatch(_words(name)):
                version = tuple(int(v) for v in versioned[2].split("."))
                names.latest.setdefault(_canon(versioned[1]), {})[version] = canon
    return names


def _exception_replacement(key: str) -> tuple[str, ...]:
    """GPL-2.0-with-classpath-exception -> GPL-2.0-only WITH Classpath-exception-2.0, …"""
    if key in _REPLACED_BY_EXPRESSION:
        return (_REPLACED_BY_EXPRESSION[key],)
    found = re.fullmatch(r"((?:A|L)?GPL-(\d)\.\d)-with-([A-Za-z]+)-exception", key)
    if not found:
        return ()
    base, major, name = found.groups()
    prefix = f"{name}-exception-{major}.".lower()
    exceptions = [k for k in _spdx_identifiers() if k.lower().startswith(prefix)]
    if not exceptions:
        return ()
    exception = min(exceptions, key=len)
    return tuple(f"{base}-{suffix} WITH {exception}" for suffix in ("only", "or-later"))


def license_suggestions(name: str) -> tuple[str, ...]:
    """The SPDX ids (or expressions) `name` most likely means; none when nothing is close."""
    symbol = spdx_licensing().known_symbols.get(_spdx_identifiers().get(name, ""))
    if symbol is not None and symbol.is_deprecated:
        return _exception_replacement(symbol.key)
    names = _suggestion_index()
    canon = _canon(name)
    if not canon:
        return ()
    if canon in names.exact:
        return tuple(names.exact[canon])
    if canon in _NO_SPDX_ID:
        return _NO_SPDX_ID[canon]
    if canon in names.latest:
        versions = names.latest[canon]
        return tuple(names.exact[versions[max(versions)]])
    if _unordered(name) in names.unordered:
        return tuple(names.unordered[_unordered(name)])
    longer = sorted((k for k in names.exact if len(canon) >= 3 and k.startswith(canon)), key=len)
    if longer:
        return tuple(names.exact[longer[0]])
    close = get_close_matches(canon, names.exact, n=2, cutoff=0.8)
    return tuple(key for found in close for key in names.exact[found])[:3]


@functools.cache
def _misfiled() -> frozenset[str]:
    """Deprecated ids ScanCode files as exceptions: they parse only after WITH."""
    known = spdx_licensing().known_symbols.items()
    return frozenset(k for k, s in known if s.is_deprecated and s.is_exception)


def _either(names: Iterable[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _known(token: str) -> bool:
    identifiers = _spdx_identifiers()
    return bool(
        token in identifiers
        or (token.endswith("+") and token[:-1] in identifiers)
        or _LICENSE_REF.match(token)
    )


def _rewrite(expression: str) -> str | None:
    """What `expression` should have been (`did you mean …?`) and why; None when nothing in it
    is like a mistake this knows (a syntax error, then)."""
    if len(expression) > _MAX_REWRITTEN or not expression.isprintable():
        return None  # no mistake of the kind suggestions are for; its parts are not echoed
    text = re.sub(r"\s+or[\s-]+(any[\s-]+)?later(\s+version)?\b", "+", expression, flags=re.I)
    parts = re.split(r"(\(|\)|(?<!\S)(?:AND|OR|WITH)(?!\S))", text, flags=re.IGNORECASE)
    misfiled = _misfiled()
    fixed: list[tuple[str, tuple[str, ...] | None]] = []  # None: right as it is
    hints = set()
    for part in (p.strip() for p in parts if p.strip()):
        if part.upper() in _OPERATORS or part in {"(", ")"}:
            if part != part.upper():
                hints.add("operators are upper case")
            fixed.append((part.upper(), None))
            continue
        if _known(part) and part not in misfiled:
            current = dict(deprecated_ids(part)).get(part, ())  # GPL-2.0+: GPL-2.0-or-later
            fixed.append((current[0] if len(current) == 1 else part, None))
            continue
        suggested = license_suggestions(part)
        if suggested and suggested[0].lower() == part.lower():
            hints.add("identifiers are case-sensitive")
        fixed.append((part, suggested))
    wrong = [(part, suggested) for part, suggested in fixed if suggested is not None]
    if not wrong and not hints and text == expression:
        return None
    hint = f" ({'; '.join(sorted(hints))})" if hints else ""
    if len(fixed) == 1 and wrong and wrong[0][1]:
        return f"did you mean {_either(wrong[0][1])}?{hint}"
    if all(suggested is not None and len(suggested) == 1 for _, suggested in wrong):
        text = " ".join(suggested[0] if suggested else part for part, suggested in fixed)
        return f"did you mean {text.replace('( ', '(').replace(' )', ')')}?{hint}"
    return (
        "; ".join(
            f"for `{part}`, did you mean {_either(suggested)}?"
            if suggested
            else f"`{part}` is not an SPDX license identifier"
            for part, suggested in wrong
        )
        + hint
    )


def license_problem(expression: str) -> str | None:
    """Why `expression` is not a valid SPDX license expression, or None when it is."""
    if expression.count("(") != expression.count(")"):
        return "its parentheses do not pair up"
    try:
        parsed = spdx_licensing().parse(expression, strict=True)
    except ExpressionError as exc:  # the parse errors of license-expression derive from it
        return _rewrite(expression) or str(exc)
    except Exception as exc:  # noqa: BLE001 - the parser raises assorted types on odd input
        return _rewrite(expression) or f"cannot parse it ({exc})"
    if parsed is None:
        return "it is empty"
    for token in re.findall(r"[^\s()]+", expression):
        if token in _OPERATORS or _known(token):
            continue
        if token.startswith("DocumentRef-"):
            # An SBOM must then name the other document and its checksum, which a manifest
            # cannot say: the SPDX documents the build writes would not be valid.
            return (
                f"{token} refers to a license in another SPDX document, which a manifest "
                "cannot name; write the license here as a LicenseRef-… (its text in the model "
                "card)"
            )
        return _rewrite(expression) or f"unknown license identifier {token}"
    return None


def deprecated_ids(expression: str) -> list[tuple[str, tuple[str, ...]]]:
    """The deprecated SPDX ids of a valid expression, each with the current ids to write."""
    found: list[tuple[str, tuple[str, ...]]] = []
    for token in re.findall(r"[^\s()]+", expression):
        key = _spdx_identifiers().get(token)
        if key is None or token in _CURRENT_ALIASES:
            continue
        if key != token:  # the license list keeps a deprecated id as an alias of the current one
            current: tuple[str, ...] = (key,)
            if key.endswith("-only") and not token.endswith("+"):
                current = (key, key.removesuffix("-only") + "-or-later")
            found.append((token, current))
        elif spdx_licensing().known_symbols[key].is_deprecated:
            found.append((token, _exception_replacement(key)))
    return found


def check_licenses(manifest: Manifest, display: str) -> list[Finding]:
    """The model's license: valid, current, and kept by the datasets the model learned from."""
    position = manifest.field_position("license")
    problem = license_problem(manifest.license)
    if problem:
        message = f"license `{manifest.license}` is not a valid SPDX license expression: {problem}"
        return [error("license.invalid", f"{message} (see {SPDX_LIST})", display, position)]
    findings = []
    for deprecated, current in deprecated_ids(manifest.license):
        choice = ", whichever the license grants" if len(current) > 1 else ""
        findings.append(
            warning(
                "license.deprecated-id",
                f"license `{manifest.license}` uses {deprecated}, a deprecated SPDX license "
                f"identifier: write {_either(current) if current else 'its replacement'} "
                f"instead{choice} (see {SPDX_LIST})",
                display,
                position,
            )
        )
    datasets = manifest.lineage.datasets if manifest.lineage else ()
    for index, dataset in enumerate(datasets):
        where = manifest.field_position("lineage", "datasets", index, "license")
        # The SBOMs declare it as a license expression too: it must be one.
        problem = license_problem(dataset.license) if dataset.license is not None else None
        if problem:
            message = (
                f"dataset `{dataset.name}`'s license `{dataset.license}` is not a valid SPDX "
                f"license expression: {problem} (see {SPDX_LIST})"
            )
            findings.append(error("license.invalid", message, display, where))
            continue
        conflict = dataset_conflict(manifest.license, dataset)
        if conflict is not None:
            findings.append(warning("license.dataset-conflict", conflict.message, display, where))
    return findings
