"""Tests of mfb_cli.weigh."""
