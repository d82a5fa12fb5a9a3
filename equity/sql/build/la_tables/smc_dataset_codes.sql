-- SMC's full data set: the measure codes it holds.
select distinct trim(measure_code) c from {table}
