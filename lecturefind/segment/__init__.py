"""Segmentation: slide-change detection, clip planning, PDF pages."""
