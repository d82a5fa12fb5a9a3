-- DfE's FSM time series: the start years it holds.
select distinct cast(left(trim(time_period), 4) as integer) y from {table}
