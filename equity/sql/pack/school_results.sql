-- Every shown result (small groups hidden) of a list of schools, all key stages: the input to
-- "since last meeting" (two years, or two database builds). Headline-extract rows are kept only
-- where no performance-table row exists for the same school, measure, group and year.
select urn, key_stage, start_year, academic_year, measure, pupil_group, value, cohort, status, version, kind
from school_result_shown
where list_contains($urns, urn)
qualify row_number() over (partition by urn, key_stage, start_year, measure, pupil_group
                           order by case kind when 'current' then 0 when 'history' then 1 else 2 end) = 1
