"""The repository as typed values: safe YAML, schemas, manifests, configuration, layout, paths,
reports."""
