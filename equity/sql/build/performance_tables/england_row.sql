-- A performance table's first state-funded England row, every column but _row. Slots: table,
-- rectype (the RECTYPE column). Parameter: the England RECTYPE code.
select * exclude (_row) from {table} where trim({rectype}) = ? limit 1;
