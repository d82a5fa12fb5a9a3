-- Years in which a measure has school values for disadvantaged pupils (key stage $key_stage).
select start_year, count(value) as schools
from school_result_shown
where key_stage = $key_stage and measure = $measure and pupil_group = 'disadvantaged'
group by start_year having count(value) > 0
order by start_year
