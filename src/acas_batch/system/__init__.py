"""Operations on the installation that jobs and people both perform.

``backup`` takes, verifies and restores backups; ``backup_register`` keeps the register of
generations and their retention; ``health`` runs the health checks; ``housekeeping`` purges
logs, output files and sessions past their retention. The system jobs (``jobs/system/``)
and the services call them; nothing here knows about jobs.
"""
