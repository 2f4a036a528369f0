"""The accounting data the jobs work on, and the posting rules that keep it double-entry.

``posting`` writes journals (the only place), ``sl``/``pl``/``stock`` post subledger
transactions through it, ``balances`` states the invariants as queries, ``money`` rounds,
``demo`` builds a deterministic demo company at any size.
"""
