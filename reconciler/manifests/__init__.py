"""reconciler.manifests"""
