-- Per key stage, measure and year: how many values DfE published anywhere (schools, LAs, England).
-- A measure with none in a year was not published that year (Progress 8 in 2024/25): a break for
-- everyone, not a school's missing value.
select key_stage, measure, start_year, sum(n) as n_values
from (
    select key_stage, measure, start_year, count(value) as n from school_result group by all
    union all
    select key_stage, measure, start_year, count(value) as n from published_result group by all)
group by all
order by key_stage, measure, start_year
