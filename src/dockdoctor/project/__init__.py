"""Project files: pure parsers for compose files, `.env` files and dev container definitions."""
