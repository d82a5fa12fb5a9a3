-- 2021 LSOA polygons of one LA (DfE code) with their IoD2025 ranks and deciles.
select l.lsoa21, l.name, l.la_code, l.lad24nm, b.geometry, l.imd_rank, l.imd_decile, l.idaci_rank, l.idaci_decile,
       l.idaopi_rank, l.idaopi_decile
from lsoa21 l join lsoa21_boundary b using (lsoa21)
where l.la_code = $la_code
order by l.lsoa21
