-- How schools were placed in a 2011 LSOA (check "schools placed in an LSOA").
select coalesce(lsoa_source, 'none') src, count(*) n from school group by 1 order by 2 desc
