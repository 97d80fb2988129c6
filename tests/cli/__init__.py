"""Tests of mfb_cli.cli."""
