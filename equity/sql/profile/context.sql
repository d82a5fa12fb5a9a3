-- A school's context by key stage and year (performance-table and 2023/24 statistics-file context).
select urn, key_stage, start_year, academic_year, version, name, la_code, nftype, admissions, age_range, gender,
       pupils_on_roll, cohort, pct_disadvantaged, prior_attainment, prior_scale, pct_prior_low, pct_prior_high,
       pct_eal, pct_sen, p8_banding, source_file, filled_from_census, census_pct_fsm_ever, census_file
from school_context
where urn = $urn
order by key_stage desc, start_year
