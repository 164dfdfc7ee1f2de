"""Literal reference implementations of the original code, used only by the tests."""
