"""Training: config, losses, checkpoints, the training engine and dataset prediction."""
