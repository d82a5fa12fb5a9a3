-- LSOA polygons of one LA (DfE code) with the deprivation fields a map colours them by.
select b.lsoa11, coalesce(l.name, b.name) as name, b.la_code, l.lad19nm, b.geometry, l.pop_total, l.pop_children,
       l.imd_score, l.idaci_score, l.idaci_score_source, l.imd_rank, l.imd_decile, l.idaci_rank, l.idaci_decile,
       l.income_decile, l.employment_decile, l.education_decile, l.health_decile, l.crime_decile,
       l.barriers_decile, l.living_env_decile, l.income_exp, l.employment_exp, l.education_exp, l.health_exp,
       l.crime_exp, l.barriers_exp, l.living_env_exp
from lsoa_boundary b left join lsoa l using (lsoa11)
where b.la_code = $la_code
order by b.lsoa11
