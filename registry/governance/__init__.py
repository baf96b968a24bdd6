"""Governance policy (NIST AI RMF Govern): tiers, decisions, CODEOWNERS, evidence."""
