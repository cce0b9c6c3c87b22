"""reconciler.rendering"""
