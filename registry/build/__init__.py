"""Rendering the static site: the catalog, lineage graph, SBOMs and pages."""
