-- One row per school: a measure in one year for disadvantaged pupils, other pupils and all pupils,
-- with cohort sizes and published confidence intervals. Read from school_result_shown, so a
-- value for a group of fewer than 6 pupils is already hidden.
select urn, min(la_code) as la_code,
       max(value) filter (where pupil_group = 'disadvantaged') as disadvantaged,
       max(cohort) filter (where pupil_group = 'disadvantaged') as cohort_disadvantaged,
       max(ci_low) filter (where pupil_group = 'disadvantaged') as ci_low,
       max(ci_high) filter (where pupil_group = 'disadvantaged') as ci_high,
       max(status) filter (where pupil_group = 'disadvantaged') as status_disadvantaged,
       max(value) filter (where pupil_group = 'other') as other,
       max(cohort) filter (where pupil_group = 'other') as cohort_other,
       max(value) filter (where pupil_group = 'all') as all_pupils,
       max(cohort) filter (where pupil_group = 'all') as cohort_all
from school_result_shown
where key_stage = $key_stage and measure = $measure and start_year = $start_year
group by urn
