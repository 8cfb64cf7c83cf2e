"""Toy plugin: MLP GANs on 1-D / 2-D Gaussian mixtures (ring of 8, 5×5 grid, 1-D Gaussian)."""
