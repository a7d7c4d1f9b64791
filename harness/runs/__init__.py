"""Plans and executes runs: request → jobs → worker processes (local or Ray) → records in a folder."""
