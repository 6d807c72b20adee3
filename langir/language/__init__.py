"""CLIP loading (open_clip) and the on-disk embedding cache for the target descriptor."""
