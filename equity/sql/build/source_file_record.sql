-- One file the build read, as listed in the Data page's table of files (equity.ingest.context.Context.record_file).
-- Parameters: path, kind, key stage, start year, academic year, version, rows, encoding, year evidence, status.
insert into source_file values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
