-- KS4 destinations: one measure for one pupil group, school rows (RECTYPE 1 or 2), into
-- school_result_all. Slots: table, value (the measure's column for the group), cohort (the group's
-- cohort column). Parameters: $start (the year the pupils finished KS4), $measure, $grp, $file.
insert into school_result_all
select try_cast(trim(URN) as integer), trim(LEA), 4, $start, academic_year($start),
       $measure, $grp, cell_value({value}), null, null, cast(cell_value({cohort}) as integer), cell_status({value}),
       case when cell_status({value}) = 'unknown' then {value} end, 'final', 'current', $file, _row, trim(RECTYPE)
from {table} where trim(RECTYPE) in ('1','2')
