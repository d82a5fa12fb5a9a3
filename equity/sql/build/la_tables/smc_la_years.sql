-- SMC's LA file: the start years it holds.
select distinct cast(left(trim(Time_period), 4) as integer) y from {table}
