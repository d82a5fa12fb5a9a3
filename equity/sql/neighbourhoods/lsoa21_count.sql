-- How many 2021 LSOAs carry IoD2025 deciles and a location (0 when the IoD2025 files were not loaded).
select count(*) as n from lsoa21 where lat is not null and imd_decile is not null
