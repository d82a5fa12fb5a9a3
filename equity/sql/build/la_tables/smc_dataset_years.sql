-- SMC's full data set: the start years it holds (time_period is the year the academic year ends in).
select distinct cast(trim(time_period) as integer) - 1 y from {table}
