"""culture"""
