-- An LG Inform indicator file: the first row whose period is not written like 2017/18.
select _row, period from {table} where not regexp_full_match(trim(period), '\d{4}/\d{2}')
order by _row limit 1
