"""Data (the run request, run state, Tekton events, settings) and the small primitives every layer shares
(keyed locks). Imports nothing of the project."""
