-- The RECTYPEs of a performance table that are not school, LA or England rows: rt, how many rows
-- (n) and the first (r). Slots: table, rectype. Parameter: $known (every RECTYPE code we read).
select trim({rectype}) as rt, count(*) as n, min(_row) as r from {table}
where not list_contains($known, trim({rectype})) group by 1;
