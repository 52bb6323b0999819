"""Reconstruction-based unsupervised pre-training: the student package.

One module per idea of the lecture, in lecture order:

- ``autoencoder``     section 1: encoder, decoder, reconstruction loss
- (more sections plug in here)

Shared plumbing every section uses: ``device`` (pick CPU or CUDA once) and ``seeding``.
"""
