-- Disadvantaged (and other) pupils' results for one measure in the given years, every school:
-- one row per school, year and group (the file's own year preferred over a later file's
-- history columns, final over provisional). Groups of fewer than 6 pupils come through as NULL
-- (school_result_shown hides them).
select urn, la_code, start_year, academic_year, pupil_group, value, ci_low, ci_high, cohort, status
from (
    select *, row_number() over (partition by urn, start_year, pupil_group
        order by case kind when 'current' then 0 when 'history' then 1 else 2 end,
                 version_rank(version), source_file desc) as rk
    from school_result_shown
    where key_stage = $key_stage and measure = $measure and list_contains($years, start_year)
      and pupil_group in ('disadvantaged', 'other'))
where rk = 1
