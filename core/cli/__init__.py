"""The command line, `python -m core`: train, study, sweep, export, gradcheck, presets.
"""
