-- Published area figures from the LA indicator files for one measure (any level, groups and years).
select area_code, area_name, area_level, gss_code, region_name, key_stage, start_year, academic_year, measure,
       pupil_group, value, cohort, status, note, source, source_file
from la_indicator
where measure = $measure
order by area_level, area_code, start_year, pupil_group
