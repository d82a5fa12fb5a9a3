-- Leave rows out of a staging table (slot: table). Parameter: the data rows (a list).
delete from {table} where _row in (select unnest(?::integer[]));
