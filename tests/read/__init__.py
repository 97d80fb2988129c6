"""Tests of mfb_cli.read."""
