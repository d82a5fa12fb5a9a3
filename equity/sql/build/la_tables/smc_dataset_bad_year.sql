-- SMC's full data set: the first row whose time_period is not a year like 2019.
select _row, time_period from {table} where try_cast(trim(time_period) as integer) not between 1990 and 2100
or try_cast(trim(time_period) as integer) is null order by _row limit 1
