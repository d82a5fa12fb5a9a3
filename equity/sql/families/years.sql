-- Years with context data for a key stage: how many schools and how many with each variable.
select start_year, count(*) as schools, count(prior_attainment) as with_prior_attainment,
       count(pct_disadvantaged) as with_pct_disadvantaged, count(pct_eal) as with_pct_eal,
       count(pct_sen) as with_pct_sen, count(distinct la_code) as las
from school_context
where key_stage = $key_stage
group by start_year
order by start_year desc
