"""salary"""
