"""Attribute names and the writers of each convention arktrace emits."""
