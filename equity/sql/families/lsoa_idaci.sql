-- IDACI score of each LSOA, from the optional `lsoa` table (run only when it has idaci_score).
select columns(c -> lower(c) in ('lsoa11', 'lsoa11cd', 'lsoa_code', 'lsoa', 'idaci_score')) from lsoa
