"""Describe infrared images in words: offline template provider (more providers to come)."""
