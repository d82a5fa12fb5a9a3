-- Start years in which a measure has at least one shown value for disadvantaged pupils (groups of
-- 6 or more), in the given LAs, or anywhere when $all_las: the years the selection rule can use.
-- A result without an LA code takes the school's (as measure_table does with the school's context).
select distinct r.start_year
from school_result_shown r left join school s using (urn)
where r.key_stage = $key_stage and r.measure = $measure and r.pupil_group = 'disadvantaged'
  and r.kind <> 'headline' and r.value is not null
  and ($all_las or coalesce(r.la_code, s.la_code) in (select unnest($las)))
order by 1
