"""Templates and static assets of the web UI; installed as the package `lecturefind.webui` (see pyproject.toml)."""
