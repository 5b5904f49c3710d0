"""Claim checks (a package, so that check files in different folders may share a name)."""
