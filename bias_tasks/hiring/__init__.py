"""hiring"""
