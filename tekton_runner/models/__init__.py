"""Data (the run request, run state, Tekton events, settings) and the small primitives every layer shares
(keyed locks, the clock). Imports nothing of the project."""
