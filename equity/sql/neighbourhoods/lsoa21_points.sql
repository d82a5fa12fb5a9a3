-- Every English 2021 LSOA with an IoD2025 decile and a polygon: IMD, IDACI and IDAOPI ranks and
-- deciles (IoD2025 Files 1 and 3 publish no scores), district, DfE LA and the centre of its polygon.
select lsoa21, name, lad24cd, lad24nm, la_code, lat, lon, area_km2, imd_rank, imd_decile, idaci_rank, idaci_decile,
       idaopi_rank, idaopi_decile, imd_score, idaci_score, idaopi_score
from lsoa21
where lat is not null
order by lsoa21
