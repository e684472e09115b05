"""An experiment: its config (every setting of the practical), the schema that checks a
config file, the presets, and the differences between two experiments.
"""
