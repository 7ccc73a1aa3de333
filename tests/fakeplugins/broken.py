"""A plugin module that fails at import time, as a third-party bug would."""

raise ImportError("No module named 'missing_dependency'")
