-- The lsoa21 table's coverage: deciles, scores, polygons and DfE LA codes (check "IoD2025").
select count(*) n, count(imd_decile) imd, count(idaci_decile) idaci, count(imd_score) scores,
       count(*) filter (where not has_boundary) no_poly, count(la_code) la from lsoa21
