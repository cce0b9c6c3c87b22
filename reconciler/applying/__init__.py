"""reconciler.applying"""
