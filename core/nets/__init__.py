"""The networks: the MLP and the CNN built from a config, their layer table and receptive
fields, and what a layer shows (activations, filters, mosaics).
"""
