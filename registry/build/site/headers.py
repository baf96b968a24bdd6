"""`_headers`: the response headers a static host should send (Netlify and Cloudflare Pages read
this file; docs/deploying.md says what to set elsewhere).

Published model files are content-addressed (artifacts/sha256/<hex>, no name a contributor chose),
so no host renders them as a page; on hosts that read this file they are also sent as downloads
that no browser sniffs, and the JSON and the feed carry a policy that runs nothing.
"""

from __future__ import annotations

from registry.build import paths

NOTHING_RUNS = "default-src 'none'; sandbox"


def headers_file() -> str:
    rules = {
        "/*": {
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
        },
        f"/{paths.ARTIFACTS}/*": {
            "Content-Type": "application/octet-stream",
            "Content-Disposition": "attachment",
            "Content-Security-Policy": NOTHING_RUNS,
        },
        "/v1/*": {"Content-Security-Policy": NOTHING_RUNS},
        f"/{paths.FEED}": {"Content-Security-Policy": NOTHING_RUNS},
    }
    lines = ["# Response headers for static hosts that read this file; see docs/deploying.md."]
    for pattern, headers in rules.items():
        lines.append(pattern)
        lines += [f"  {name}: {value}" for name, value in headers.items()]
    return "\n".join(lines) + "\n"
