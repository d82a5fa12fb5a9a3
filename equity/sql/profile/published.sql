-- DfE's published LA and England rows for one key stage (shown as published, never recomputed).
select area_code, area_level, key_stage, start_year, academic_year, measure, pupil_group, value, ci_low, ci_high,
       cohort, status, version, kind, source_file
from published_result
where key_stage = $key_stage and (list_contains($areas, area_code))
qualify row_number() over (partition by area_code, start_year, measure, pupil_group
                           order by case kind when 'current' then 0 when 'history' then 1 else 2 end,
                                    version_rank(version)) = 1
order by area_code, measure, pupil_group, start_year
