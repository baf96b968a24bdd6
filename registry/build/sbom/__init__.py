"""SBOMs for one published version: SPDX 2.3, SPDX 3.0.1 (AI profile) and CycloneDX 1.6."""
