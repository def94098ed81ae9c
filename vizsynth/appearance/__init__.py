"""Appearance randomization: textures on objects, backgrounds behind them, sensor effects on the image."""
