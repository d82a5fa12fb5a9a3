-- The rows of a staging table whose URN is a whole number of 0 or less, as rejected cells: row,
-- column, raw, problem and rule. Slots: table, urn (the URN column), rows (a condition limiting the
-- check to school rows, assembled by the loader from quoted names and constants). Parameter: the
-- URN column's name as written in the header.
select _row as row, ? as "column", {urn} as raw, 'bad_urn' as problem,
       'a URN is a positive whole number: the row is left out' as rule
from {table} where ({rows}) and try_cast(trim({urn}) as bigint) <= 0 order by _row;
