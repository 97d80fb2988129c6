"""Tests of mfb_cli.count."""
