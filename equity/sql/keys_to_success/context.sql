-- Each school's context at one key stage, year by year (share of disadvantaged pupils, cohort,
-- prior attainment), with what the school table knows (name, LA, phase, mainstream, location).
select c.urn, c.start_year, c.academic_year, c.pct_disadvantaged, c.cohort, c.prior_attainment,
       c.pct_eal, c.pct_sen,
       coalesce(s.name, c.name) as name, coalesce(c.la_code, s.la_code) as la_code, s.la_name, s.phase,
       coalesce(s.is_mainstream, true) as is_mainstream, s.lat, s.lon
from school_context c left join school s using (urn)
where c.key_stage = $key_stage
