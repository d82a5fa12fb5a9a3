-- How schools were placed in a 2021 LSOA (check "schools placed in a 2021 LSOA").
select coalesce(lsoa21_route, 'none') route, count(*) n from school group by 1 order by 2 desc
