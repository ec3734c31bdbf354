"""gender_bios"""
