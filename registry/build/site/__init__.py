"""The static site: JSON API, SBOMs, HTML catalog and documentation, built into one folder."""
