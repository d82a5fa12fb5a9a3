-- KS4 destinations: the first school row (RECTYPE 1 or 2) whose URN is not a number.
select _row, URN from {table} where trim(RECTYPE) in ('1','2')
and try_cast(trim(URN) as integer) is null order by _row limit 1
