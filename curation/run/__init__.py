"""Running a manifest: the run folder's layout, compiling passes, the runner, executors, summary and progress."""
