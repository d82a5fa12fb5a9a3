-- Share of pupils at the end of a key stage who are disadvantaged, from the schools' own published figures
-- (percentage x cohort, summed): one row per year, for an LA ($la) or all of England ($la is null).
select start_year, academic_year,
       100.0 * sum(pct_disadvantaged / 100.0 * cohort) / sum(cohort) as share,
       sum(pct_disadvantaged / 100.0 * cohort) as n_disadvantaged, sum(cohort) as n_all, count(*) as schools
from school_context
where key_stage = $ks and pct_disadvantaged is not null and cohort > 0 and ($la is null or la_code = $la)
group by start_year, academic_year
order by start_year
