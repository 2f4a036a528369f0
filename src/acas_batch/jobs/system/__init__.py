"""System jobs: database backup, log and session clean-up, performance statistics, health check, archiving."""
