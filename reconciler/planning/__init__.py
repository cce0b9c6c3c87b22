"""reconciler.planning"""
