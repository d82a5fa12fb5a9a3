-- Schools with a location, where it came from, their 2011 LSOA (see marts_location.sql) and their
-- 2021 LSOA with the route it came by (marts_lsoa21.sql).
select urn, name, la_code, la_name, phase, is_mainstream, is_state_funded, is_special, close_date,
       lat, lon, location_source, lsoa11, lsoa_source, lsoa_km, lsoa21, lsoa21_route
from school
where lat is not null and lon is not null
order by urn
