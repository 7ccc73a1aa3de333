"""Importable targets for fake entry points in the registry tests."""
