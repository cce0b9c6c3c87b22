"""Settings shared by the shell layers (filled in by the client issue)."""
