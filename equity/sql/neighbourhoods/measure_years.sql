-- Measures and years with enough schools carrying a figure for disadvantaged pupils.
select key_stage, measure, start_year, academic_year,
       count(value) filter (where pupil_group = 'disadvantaged') as schools_disadvantaged,
       count(value) filter (where pupil_group = 'other') as schools_other
from school_result_shown
where pupil_group in ('disadvantaged', 'other')
group by all
having count(value) filter (where pupil_group = 'disadvantaged') >= 20
order by key_stage desc, start_year desc, measure
