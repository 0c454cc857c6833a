"""Helpers the tests share: processes, services, known-truth data, web, rollups, evidence.

Nothing here is a test; test modules import from here, never from each other.
"""
