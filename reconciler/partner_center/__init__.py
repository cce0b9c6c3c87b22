"""reconciler.partner_center"""
