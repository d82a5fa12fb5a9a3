-- DfE headline results: one measure, all pupils, into school_result_all. Slots: table, value (the
-- measure's column), cohort (KS4 Pupils or KS2 Pupils). Parameters: $ks, $start, $measure, $file.
insert into school_result_all
select try_cast(trim(URN) as integer), null, $ks, $start, academic_year($start), $measure, 'all',
       cell_value({value}), null, null, cast(cell_value({cohort}) as integer),
       cell_status({value}), case when cell_status({value}) = 'unknown' then {value} end, 'final', 'headline',
       $file, _row, null
from {table} where try_cast(trim(URN) as integer) is not null
