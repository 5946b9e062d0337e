"""One sub-package per vendor and log format: its parser, its message catalog, its fast
path."""
