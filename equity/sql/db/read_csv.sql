-- A CSV (plain or .gz, UTF-8) as text columns plus _row (1 = first data row); ragged rows (DfE's
-- shorter LA and England rows) padded with NULLs. Slot: table. Parameters: the path, whether the
-- file has a header.
create temp table {table} as select row_number() over () as _row, * from read_csv(?, all_varchar=true,
    header=?, delim=',', quote='"', escape='"', null_padding=true, strict_mode=false, sample_size=-1)
