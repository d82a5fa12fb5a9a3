-- Outcomes of disadvantaged and other pupils in one measure at one key stage, for every school and year we hold
-- them with the disadvantaged split (DfE headline extracts carry all pupils only and are left out).
-- Read from school_result_shown, so a group of fewer than 6 pupils has no value. Only the columns the
-- Keys to Success calculations use (a national measure is ~100,000 rows: every column costs).
select urn, la_code, start_year, pupil_group, value, ci_low, ci_high, cohort, status
from school_result_shown
where key_stage = $key_stage
  and measure = $measure
  and pupil_group in ('disadvantaged', 'other')
  and kind <> 'headline'
