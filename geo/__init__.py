"""Spatial core of Wangge: boundary sets, coordinate systems, validation and assignment.

A library: it takes and returns plain values, numpy arrays and GeoDataFrames, and never reads
configuration, talks HTTP or opens a database.
"""
