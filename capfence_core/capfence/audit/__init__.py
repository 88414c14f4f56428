"""The audit log: one append-only, hash-chained record per decision and per outcome."""
