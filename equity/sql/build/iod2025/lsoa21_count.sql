-- How many 2021 LSOAs the lsoa21 table holds (check "IoD2025").
select count(*) n from lsoa21
