-- The first school row of a performance table whose URN is not a whole number. Slots: table,
-- rectype, urn. Parameter: $school (the school RECTYPE codes).
select _row, {urn} as urn from {table} where list_contains($school, trim({rectype}))
and try_cast(trim({urn}) as integer) is null order by _row limit 1;
