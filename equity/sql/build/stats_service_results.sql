-- One result column of a KS4 statistics-service school file (e.g. diffn_att8) as long results for
-- the disadvantaged group, as published. Slots: table, col (the quoted column), cohort (the
-- disadvantaged pupils' count expression, or null). Parameters: $start (the file's start year),
-- $measure, $version, $file.
insert into school_result_all
select cast(trim(school_urn) as integer), trim(old_la_code), 4, $start, academic_year($start),
       $measure, 'disadvantaged', cell_value({col}), null, null, {cohort}, cell_status({col}),
       case when cell_status({col}) = 'unknown' then {col} end, $version, 'current', $file, _row, null
from {table} where geographic_level = 'School';
