"""Command-line tools that work on whole runs (``python -m tools.<name>``)."""
