-- LA outlines: published polygons, or dissolved from the LA's LSOA polygons (method says which).
select b.la_code, b.ons_code, coalesce(b.la_name, l.la_name, b.ons_code) as la_name, b.method, b.geometry,
       b.min_lon, b.min_lat, b.max_lon, b.max_lat
from la_boundary b
left join (select la_code, min(la_name) as la_name from la group by 1) l using (la_code)
order by b.la_code
