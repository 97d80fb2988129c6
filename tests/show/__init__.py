"""Tests of mfb_cli.show."""
