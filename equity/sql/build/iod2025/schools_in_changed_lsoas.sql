-- Schools in a 2011 LSOA that was split, merged or changed irregularly by 2021 (check "2011 to 2021
-- LSOA changes at schools").
select count(*) filter (where lsoa21_route like 'split%') split,
       count(*) filter (where lsoa21_route like 'merged%') merged,
       count(*) filter (where lsoa21_route like 'irregular%') irregular from school
