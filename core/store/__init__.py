"""Run folders: the one writer and reader of a run's files, whether a run is still alive,
restoring a run's network, and what kind of folder a path is.
"""
