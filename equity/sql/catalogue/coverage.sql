-- Coverage of school results with the disadvantaged split, by LA, key stage, measure and year
-- (summarised at build time: equity/sql/build/marts_summary.sql).
select la_code, la_name, key_stage, measure, academic_year, schools_with_value, schools
from result_coverage
order by key_stage desc, la_name, measure, academic_year
