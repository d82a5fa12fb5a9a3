-- DfE's published rows for a list of areas ('936', 'england'...), all key stages, one per
-- area, measure, group and year (final before provisional, the year's own file before history columns).
select area_code, key_stage, start_year, academic_year, measure, pupil_group, value, cohort, status, version, kind
from published_result
where list_contains($areas, area_code)
qualify row_number() over (partition by area_code, key_stage, start_year, measure, pupil_group
                           order by case kind when 'current' then 0 when 'history' then 1 else 2 end,
                                    version_rank(version)) = 1
