"""crows_pairs"""
