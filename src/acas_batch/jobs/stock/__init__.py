"""Stock control jobs: ABC analysis, valuation, demand forecast, reorder, dead stock, expiry,
cycle counts, replenishment.
"""
