-- DfE's FSM time series: the first row whose time_period is not an academic year like 202021.
select _row, time_period from {table} where not regexp_full_match(trim(time_period), '\d{6}')
or (cast(left(trim(time_period), 4) as integer) + 1) % 100 <> cast(right(trim(time_period), 2) as integer)
order by _row limit 1
