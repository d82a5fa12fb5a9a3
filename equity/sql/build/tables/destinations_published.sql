-- KS4 destinations: one measure for one pupil group, the LA and England rows (RECTYPE LA, NAT), into
-- published_result_all. Slots and parameters as destinations_school.sql.
insert into published_result_all
select case when trim(RECTYPE) = 'LA' then trim(LEA) else 'england' end,
       case when trim(RECTYPE) = 'LA' then 'la' else 'england' end, 4, $start, academic_year($start),
       $measure, $grp, cell_value({value}), null, null, cast(cell_value({cohort}) as integer), cell_status({value}),
       case when cell_status({value}) = 'unknown' then {value} end, 'final', 'current', $file, _row, trim(RECTYPE)
from {table} where trim(RECTYPE) in ('LA', 'NAT')
