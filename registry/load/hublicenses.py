"""Hugging Face Hub license ids and SPDX license identifiers, both ways: the SPDX identifier of
the license a card's front matter names (`modelreg add --model-card`), and what a generated card
says for a manifest's SPDX expression (the README.md of a version).

The Hub names a license by its SPDX identifier in lower case
(https://huggingface.co/docs/hub/repositories-licenses), the GNU ones by SPDX's deprecated ids,
which mean "only" (`gpl-3.0` is `GPL-3.0-only`); the SPDX list, deprecated ids included, is
license-expression's, read the first time it is needed.
"""

from __future__ import annotations

import functools
import re

# The licenses the Hub lists under an SPDX identifier; a card names any other `license: other`.
_HUB_LICENSES = frozenset(
    {
        "apache-2.0",
        "mit",
        "afl-3.0",
        "artistic-2.0",
        "bsl-1.0",
        "bsd-2-clause",
        "bsd-3-clause",
        "bsd-3-clause-clear",
        "cc0-1.0",
        "cc-by-2.0",
        "cc-by-2.5",
        "cc-by-3.0",
        "cc-by-4.0",
        "cc-by-sa-3.0",
        "cc-by-sa-4.0",
        "cc-by-nc-2.0",
        "cc-by-nc-3.0",
        "cc-by-nc-4.0",
        "cc-by-nd-4.0",
        "cc-by-nc-nd-3.0",
        "cc-by-nc-nd-4.0",
        "cc-by-nc-sa-2.0",
        "cc-by-nc-sa-3.0",
        "cc-by-nc-sa-4.0",
        "cdla-sharing-1.0",
        "cdla-permissive-1.0",
        "cdla-permissive-2.0",
        "wtfpl",
        "ecl-2.0",
        "epl-1.0",
        "epl-2.0",
        "etalab-2.0",
        "eupl-1.1",
        "agpl-3.0",
        "gpl-2.0",
        "gpl-3.0",
        "lgpl-2.1",
        "lgpl-3.0",
        "isc",
        "lppl-1.3c",
        "ms-pl",
        "mpl-2.0",
        "osl-3.0",
        "postgresql",
        "ofl-1.1",
        "ncsa",
        "unlicense",
        "zlib",
    }
)
# Hub license ids that name a family of licenses, not one license: no SPDX identifier.
_LICENSE_FAMILIES = frozenset({"bsd", "cc", "gfdl", "gpl", "lgpl", "openrail"})
_SPDX_ID = re.compile(r"^[A-Za-z0-9.+-]+\Z")


@functools.cache
def _spdx_ids() -> dict[str, str]:
    """Lower-case SPDX license identifier (deprecated ones too) -> its current identifier."""
    from license_expression import get_spdx_licensing

    found: dict[str, str] = {}
    for key, symbol in get_spdx_licensing().known_symbols.items():
        if key.startswith("LicenseRef-"):
            continue  # ScanCode's own references, not SPDX list entries
        for name in (key, *symbol.aliases):
            if " " not in name and not name.startswith("LicenseRef-"):
                found.setdefault(name.lower(), key)
        found[key.lower()] = key
    return found


def is_license_family(hub_id: str) -> bool:
    """Whether a Hub license id names a family of licenses (`gpl`, `cc`), not one license."""
    return hub_id.strip().lower() in _LICENSE_FAMILIES


def spdx_license(hub_id: str) -> str | None:
    """The SPDX identifier of a Hugging Face license id (`apache-2.0` -> `Apache-2.0`), or None."""
    if is_license_family(hub_id):
        return None
    return _spdx_ids().get(hub_id.strip().lower())


@functools.cache
def _renamed() -> dict[str, str]:
    """Lower-case current SPDX identifier -> the Hub's id for it, where that is not the same in
    lower case: the GNU licenses (`gpl-3.0-only` -> `gpl-3.0`)."""
    found: dict[str, str] = {}
    for hub in sorted(_HUB_LICENSES):
        spdx = spdx_license(hub)
        if spdx is not None and spdx.lower() != hub:
            found[spdx.lower()] = hub
    return found


def hub_license(expression: str) -> tuple[str, str | None, str | None]:
    """(license, license_name, license_link) as the Hub reads them for an SPDX expression: its
    own id when it has one, else `other`, named after the expression and linked to the SPDX page
    of an identifier."""
    lower = expression.lower()
    hub = lower if lower in _HUB_LICENSES else _renamed().get(lower)
    if hub is not None:
        return hub, None, None
    name = re.sub(r"[^a-z0-9.+]+", "-", lower).strip("-")
    single = _SPDX_ID.match(expression) is not None
    return "other", name, f"https://spdx.org/licenses/{expression}.html" if single else None
