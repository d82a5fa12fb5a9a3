-- Mark the out-of-range cells of one column of a staging table (slots: table, col) so that
-- cell_status reads them as 'out_of_range'. Parameters: the marker, the data rows (a list).
update {table} set {col} = ? where _row in (select unnest(?::integer[]));
