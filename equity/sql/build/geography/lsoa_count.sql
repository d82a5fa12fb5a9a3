-- How many 2011 LSOAs the lsoa table holds (check "LSOA deprivation").
select count(*) n from lsoa
