-- Schools with a location, where it came from, and their LSOA (see marts_location.sql).
select urn, name, la_code, la_name, phase, is_mainstream, is_state_funded, is_special, close_date,
       lat, lon, location_source, lsoa11, lsoa_source, lsoa_km
from school
where lat is not null and lon is not null
order by urn
