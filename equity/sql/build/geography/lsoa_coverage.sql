-- The lsoa table's coverage: IMD scores rebuilt, IDACI scores by where they came from, centroids,
-- and how far the rebuilt IMD score's rank is from File 1's (checks "LSOA deprivation", "IMD score
-- rebuilt from domain scores", "IDACI scores").
select count(*) n, count(imd_score) imd, count(idaci_score) idaci, count(lat) n_loc,
       count(*) filter (where idaci_score_source = 'published') pub,
       count(*) filter (where idaci_score_source = 'interpolated from rank') interp,
       count(*) filter (where idaci_score_source = 'estimated from numerator') est,
       count(*) filter (where imd_score_rank = imd_rank) same_rank,
       max(abs(imd_score_rank - imd_rank)) max_shift
from lsoa
