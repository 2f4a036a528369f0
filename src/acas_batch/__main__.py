from __future__ import annotations

from acas_batch.cli import main

main()
