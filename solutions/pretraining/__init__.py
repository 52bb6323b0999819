"""Reconstruction-based unsupervised pre-training: the student package.

One module per idea of the lecture, in lecture order:

- section 0, contrastive recap:      ``contrastive`` (SimCLR: augmentations, NT-Xent, projection head)
- section 1, autoencoders:           ``autoencoder``, ``bottlenecks``, ``few_shot``
- section 2, masked autoencoders:    ``masking`` (BERT), ``mae``
- section 3, autoregressive models:  ``autoregressive``, ``sampling``, ``kv_cache``
- section 4, fine-tuning a little:   ``finetune``, ``lora``
- section 5, in-context learning:    ``icl``

Shared plumbing every section uses: ``device`` (pick CPU or CUDA once), ``seeding``, ``training`` (the one
training loop), ``data``, ``plotting``, and ``pretrained``/``corpus``/``topics`` (the shipped models and data).
"""
