-- The first URN that appears on more than one school row of a performance table, with its rows.
-- Slots: table, rectype, urn. Parameter: $school (the school RECTYPE codes).
select trim({urn}) as urn, list(_row order by _row) as rows_ from {table}
where list_contains($school, trim({rectype})) group by 1 having count(*) > 1 order by min(_row) limit 1;
