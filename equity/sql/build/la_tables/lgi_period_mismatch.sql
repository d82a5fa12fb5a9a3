-- An LG Inform indicator file: the first row whose period's two years do not follow (2017/19).
select _row, period from {table} where (cast(left(trim(period), 4) as integer) + 1) % 100
<> cast(right(trim(period), 2) as integer) order by _row limit 1
