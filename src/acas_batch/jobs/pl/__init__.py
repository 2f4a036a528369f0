"""Purchase ledger jobs: aged creditors, three-way matching, payment run, remittance advices,
accruals, the VAT return.
"""
