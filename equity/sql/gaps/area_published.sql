-- DfE's published LA and England rows (performance tables, destinations) for some areas and one key stage:
-- one row per area x year x measure x pupil group, exactly as printed (value, CI, cohort, missing reason).
select area_code, area_level, key_stage, start_year, academic_year, measure, pupil_group, value, ci_low, ci_high,
       cohort, status, version, kind, source_file, 'DfE performance tables' as publisher, 1 as priority
from published_result
where list_contains($areas, area_code) and key_stage = $ks
