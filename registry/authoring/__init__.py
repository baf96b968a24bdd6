"""Writing manifests: `add`, scaffolding, schema migration."""
