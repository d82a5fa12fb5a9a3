-- SMC's full data set into la_indicator_raw: England by disadvantage, DfE's disadvantage gap index
-- (England only) and ITL2 regions by free-school-meal eligibility. time_period is the calendar year
-- the academic year ends in: 2019 = 2018/19. Slots: sample (the sample_size column, or null), note
-- (the value_note column, or null). Parameters as smc_la_load.sql.
insert into la_indicator_raw
with m as (select unnest($codes) as code, unnest($ks) as ks, unnest($measures) as measure),
     g as (select unnest($sebs) as seb, unnest($groups) as grp)
-- England by disadvantage, year by year
select 'england', nullif(trim(area_code), ''), trim(area_name), 'england', null, m.ks,
       (cast(trim(time_period) as integer) - 1), academic_year((cast(trim(time_period) as integer) - 1)),
       m.measure, g.grp, cell_value(value), cell_value({sample}), cell_status(value),
       case when cell_status(value) = 'unknown' then value end, nullif(trim({note}), ''), $publisher, $file, _row
from {table} t join m on m.code = trim(t.measure_code) join g on g.seb = trim(t.primary_split_value)
where chart_type = 'trend' and area_type = 'Country'
union all
-- DfE's disadvantage gap index (England only; pupil-level, never computed here)
select 'england', nullif(trim(area_code), ''), trim(area_name), 'england', null, m.ks,
       (cast(trim(time_period) as integer) - 1), academic_year((cast(trim(time_period) as integer) - 1)),
       'gap_index', 'all', cell_value(value), null, cell_status(value),
       case when cell_status(value) = 'unknown' then value end, 'DfE disadvantage gap index', $publisher, $file, _row
from {table} t join m on m.code = trim(t.measure_code)
where chart_type = 'index_trend' and area_type = 'Country'
union all
-- ITL2 regions by free-school-meal eligibility (no area code in the file: the name identifies it)
select null, null, trim(area_name), 'itl2', null, m.ks,
       (cast(trim(time_period) as integer) - 1), academic_year((cast(trim(time_period) as integer) - 1)),
       m.measure, g.grp, cell_value(value), cell_value({sample}), cell_status(value),
       case when cell_status(value) = 'unknown' then value end, 'pupils eligible for free school meals', $publisher, $file, _row
from {table} t join m on m.code = trim(t.measure_code) join g on g.seb = trim(t.primary_split_value)
where chart_type = 'geography_map' and area_type = 'ITL2'
