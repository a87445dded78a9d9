"""sheetgen: write spreadsheets that train small neural networks by gradient descent."""

__version__ = "0.1.0"
