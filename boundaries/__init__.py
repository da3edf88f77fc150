"""Boundary sets shipped with Wangge: the real Tianjin data, the demo generator, loaders."""
