-- SMC's LA file, one row per LA x socio-economic group, into la_indicator_raw. Slots: sample (the
-- Sample_size column, or null when the file has none), sex (the Sex column, or null: then every row
-- is for both sexes). Parameters: $codes, $ks, $measures (our SMC measure codes, key stages and
-- measures), $sebs, $groups (SMC socio-economic groups and our pupil groups), $publisher, $file.
insert into la_indicator_raw
with m as (select unnest($codes) as code, unnest($ks) as ks, unnest($measures) as measure),
     g as (select unnest($sebs) as seb, unnest($groups) as grp)
select trim(Area_code), case when trim(Area_code) like 'E%' then trim(Area_code) end, trim(Area_name),
       case when Area_type ilike 'local authority%' then 'la' when Area_type ilike 'country%' then 'england'
            else lower(trim(Area_type)) end,
       null, m.ks, cast(left(trim(Time_period), 4) as integer),
       academic_year(cast(left(trim(Time_period), 4) as integer)), m.measure, g.grp,
       cell_value(Value), cell_value({sample}), cell_status(Value),
       case when cell_status(Value) = 'unknown' then Value end, null, $publisher, $file, _row
from {table} t join m on m.code = trim(t.Ind_code) join g on g.seb = trim(t.SEB)
where coalesce(trim({sex}), 'Total') = 'Total'
