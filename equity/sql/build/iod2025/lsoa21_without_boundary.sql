-- 2021 LSOAs with no polygon (check "2021 LSOAs missing from the boundaries").
select lsoa21 from lsoa21 where not has_boundary order by 1
