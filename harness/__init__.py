"""alphabet-bench harness: plans jobs, runs them in workers, stores records, renders reports."""
