"""Tests of the planning package: facilities, population, coverage, through HTTP and the CLI."""
