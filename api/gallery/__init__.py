"""The gallery: every answered image kept with its parameters (docs/architecture.md, section "Files before rows")."""
