-- How many England rows (n) a performance table holds. Slots: table, rectype. Parameter:
-- $england (the England RECTYPE codes).
select count(*) n from {table} where list_contains($england, trim({rectype}));
