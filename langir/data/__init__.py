"""Dataset layer: layouts, the guarded reader (every user-file read), image/mask IO, samples, splits, the user
cache folder. Imports nothing else of langir."""

from langir.data.dataset import LangIRDataset, Sample, read_split_file
from langir.data.imageio import read_image, read_mask
from langir.data.layout import PRESETS, Layout, resolve_layout

__all__ = ["LangIRDataset", "Sample", "Layout", "PRESETS", "resolve_layout", "read_image", "read_mask", "read_split_file"]
