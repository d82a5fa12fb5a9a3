-- An LG Inform indicator file into la_indicator_raw: all pupils, several LAs and England.
-- Parameters: $indicators, $ks, $measures (the file's indicators we recognise, their key stages and
-- measures), $publisher, $file.
insert into la_indicator_raw
with m as (select unnest($indicators) as ind, unnest($ks) as ks, unnest($measures) as measure)
select case when trim(area_code) = 'E92000001' then 'england' else trim(area_code) end, trim(area_code),
       trim(area_name), case when trim(area_code) = 'E92000001' then 'england' else 'la' end, null,
       m.ks, cast(left(trim(period), 4) as integer), trim(period), m.measure, 'all',
       cell_value(value), null, cell_status(value), case when cell_status(value) = 'unknown' then value end,
       null, $publisher, $file, _row
from {table} t join m on m.ind = t.indicator
