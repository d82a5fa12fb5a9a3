-- An LG Inform indicator file: the start years it holds.
select distinct cast(left(trim(period), 4) as integer) y from {table}
