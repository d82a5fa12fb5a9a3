-- Every field of a staging table (slot: table) longer than the field cap: row, column (as written
-- in the header), the field's first characters (excerpt) and its length n, in row then column
-- order. Parameters: the excerpt's length, the cap.
select _row as row, col as "column", left(raw, ?) as excerpt, length(raw) as n
from (unpivot (select * from {table}) on columns(* exclude (_row)) into name col value raw)
where length(raw) > ? order by _row, col;
