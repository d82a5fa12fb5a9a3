-- The length of the longest field of each column of a staging table (slot: table), one row.
select max(length(columns(* exclude (_row)))) from {table};
