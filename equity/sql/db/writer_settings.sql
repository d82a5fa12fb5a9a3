-- The build's connection: no progress bar on the terminal (DuckDB 1.5 refuses this one as a
-- connect-time global option).
set enable_progress_bar = false
