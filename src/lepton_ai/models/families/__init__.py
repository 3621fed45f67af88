"""The searchable model families, one per file: what a search trains and compares.

linear (logistic/ridge), gbdt (LightGBM), mlp, cnn (images), sequence (rnn, cnn1d), text (TF-IDF),
text_embed (sentence embeddings), custom (a user's ``torch.nn.Module`` through ``register_module``).
"""
