"""General ledger jobs: daily close, account reconciliation, trial balance, budget variance,
period and year-end close.
"""
