"""Data: the run request, run state, Tekton events and settings. Imports nothing of the project."""
