"""ivcrush: a terminal console for selling options into earnings (IV crush)."""

__version__ = "0.1.0"
