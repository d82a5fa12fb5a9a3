-- Measures with school values for disadvantaged pupils in a key stage and year.
select measure, count(value) as schools
from school_result_shown
where key_stage = $key_stage and start_year = $start_year and pupil_group = 'disadvantaged'
group by measure having count(value) > 0
order by measure
