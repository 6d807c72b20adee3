"""Training: config, run setup, inputs, optimiser, resume, pretraining hooks, the loop and its callbacks.

Prediction and scoring live in :mod:`langir.evaluate`; training validates through it.
"""
