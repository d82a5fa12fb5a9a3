-- DfE's published LA and England rows for one measure and year (every LA the files cover), all groups.
select area_code, area_level, key_stage, start_year, academic_year, measure, pupil_group, value, cohort, status,
       version, source_file
from published_result
where key_stage = $ks and measure = $measure and start_year = $year and area_level in ('la', 'england')
