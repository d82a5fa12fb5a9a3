-- SMC's LA file: the first row whose Time_period is not an academic year like 202122.
select _row, Time_period from {table} where not regexp_full_match(trim(Time_period), '\d{6}')
order by _row limit 1
