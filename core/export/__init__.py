"""Exports: what a user takes away from a run, a study or an experiment.

cli (`python -m core export`), csv_files (metrics and a study's rungs as CSV), script
(one plain PyTorch script, with script_data / script_model / script_prepare / script_train),
tensorboard_logs (event files, live or from a run), onnx_model (the trained network).
Nothing is imported here: core.train loads tensorboard_logs alone, and only when asked.
"""
