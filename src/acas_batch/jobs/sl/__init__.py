"""Sales ledger jobs: aged debtors, statements, overdue reminders, credit limits, commission,
the VAT return's output side.
"""
