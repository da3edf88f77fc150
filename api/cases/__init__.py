"""Cases (reports): lifecycle, intake, transitions, visibility, views, queries, statistics."""
