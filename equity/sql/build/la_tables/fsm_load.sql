-- DfE's FSM time series into la_indicator_raw: % of pupils eligible for free school meals, LA,
-- region and England. Slots: region_code (the region_code column, or null), term (the
-- time_identifier column, or null). Parameters: $phases, $measures (DfE's phases and our measures),
-- $publisher, $file.
insert into la_indicator_raw
with p as (select unnest($phases) as phase, unnest($measures) as measure)
select case geographic_level when 'National' then 'england' when 'Regional' then nullif(trim({region_code}), '')
            else nullif(trim(old_la_code), '') end,
       case geographic_level when 'National' then nullif(trim(country_code), '') when 'Regional' then nullif(trim({region_code}), '')
            else nullif(trim(new_la_code), '') end,
       coalesce(nullif(trim(la_name), ''), nullif(trim(region_name), ''), nullif(trim(country_name), '')),
       case geographic_level when 'National' then 'england' when 'Regional' then 'region' else 'la' end,
       nullif(trim(region_name), ''), null, cast(left(trim(time_period), 4) as integer),
       academic_year(cast(left(trim(time_period), 4) as integer)), p.measure, 'fsm_eligible',
       cell_value(fsm_eligible_percent), cell_value(headcount), cell_status(fsm_eligible_percent),
       case when cell_status(fsm_eligible_percent) = 'unknown' then fsm_eligible_percent end,
       nullif(trim({term}), '') || ' census', $publisher, $file, _row
from {table} t join p on p.phase = trim(t.phase)
where geographic_level in ('National', 'Regional', 'Local authority')
