"""v1/models/<name>/aliases.json: the aliases a model's versions hold, since when (the event of
the log that set each), and every alias event of the model: what `modelreg fetch NAME@ALIAS`
reads."""

from __future__ import annotations

from typing import Any

from registry.build import paths
from registry.build.catalog import Catalog, ModelEntry
from registry.build.site.records import API_VERSION, link


def aliases_document(catalog: Catalog, model: ModelEntry) -> dict[str, Any]:
    doc = paths.model_aliases(model.name)
    aliases = {}
    for alias, event in catalog.alias_setting(model).items():
        version = model.aliases[alias]
        aliases[alias] = {
            "version": version,
            "url": link(doc, paths.version_json(model.name, version)),
            "since": event.timestamp if event else None,
            "seq": event.seq if event else None,
            "commit": event.commit if event else None,
        }
    history = [
        {
            "seq": e.seq,
            "type": e.type,
            "alias": e.payload.get("alias"),
            "from": e.payload.get("from"),
            "to": e.payload.get("to"),
            "reason": e.payload.get("reason"),
            "timestamp": e.timestamp,
            "commit": e.commit,
            "author": e.author,
        }
        for e in catalog.alias_history(model)
    ]
    return {
        "api_version": API_VERSION,
        "model": model.name,
        "aliases": aliases,
        "history": history,
        "links": {
            "self": link(doc, doc),
            "model": link(doc, paths.model_json(model.name)),
            "events": link(doc, paths.EVENTS_JSON),
        },
    }
