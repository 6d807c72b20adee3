"""langir: language-guided infrared small target detection (LangIR, LGNet, SGEM-UNet, DGSPNet)."""

__version__ = "0.1.0"
