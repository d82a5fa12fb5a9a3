-- Results for a list of URNs at one key stage, small groups hidden (school_result_shown).
-- Where a school has both a performance-table row and a headline-extract row for the same
-- measure, group and year, only the performance-table row is kept.
select urn, la_code, key_stage, start_year, academic_year, measure, pupil_group, value, ci_low, ci_high, cohort,
       status, version, kind, source_file
from school_result_shown
where list_contains($urns, urn) and key_stage = $key_stage
qualify row_number() over (partition by urn, start_year, measure, pupil_group
                           order by case kind when 'current' then 0 when 'history' then 1 else 2 end) = 1
order by urn, measure, pupil_group, start_year
