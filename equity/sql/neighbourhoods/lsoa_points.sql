-- Every English LSOA with its population-weighted centroid: scores (for averaging, population-
-- weighted) and ranks/deciles (for colouring a map, never for averaging).
select lsoa11, name, lad19cd, lad19nm, la_code, lat, lon, pop_total, pop_children,
       imd_score, idaci_score, idaci_score_source, imd_rank, imd_decile, idaci_rank, idaci_decile,
       income_decile, employment_decile, education_decile, health_decile, crime_decile, barriers_decile,
       living_env_decile, income_exp, employment_exp, education_exp, health_exp, crime_exp,
       barriers_exp, living_env_exp, has_boundary
from lsoa
where lat is not null
order by lsoa11
