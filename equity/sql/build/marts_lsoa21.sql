-- IoD2025 on 2021 LSOAs: the `lsoa21` table (one row per English 2021 LSOA: IMD, IDACI and IDAOPI
-- ranks and deciles, district, DfE LA, the centre of its polygon) and every school's 2021 LSOA.
-- Staging tables are filled by equity/ingest/loaders/iod2025.py; they are created here too so that a build
-- without those files still works (the tables are then empty). Runs after marts_location.sql (the
-- school's 2011 LSOA comes from there).
create table if not exists stg_lsoa21_wide (lsoa21 varchar, source_file varchar, sheet varchar, name varchar,
    lad_code varchar, lad_name varchar, imd_rank double, imd_decile double, imd_score double, idaci_rank double,
    idaci_decile double, idaci_score double, idaopi_rank double, idaopi_decile double, idaopi_score double);
create table if not exists lsoa11_lsoa21 (lsoa11 varchar, lsoa11_name varchar, change_code varchar,
    lsoa21 varchar, lsoa21_name varchar, lad22cd varchar, lad22nm varchar, source_file varchar, source_row integer);
create table if not exists lsoa21_ward (lsoa21 varchar, lsoa21_name varchar, ward_code varchar,
    ward_name varchar, lad_code varchar, lad_name varchar, source_file varchar);
create table if not exists lsoa21_boundary (lsoa21 varchar, name varchar, geometry varchar, n_points integer,
    area_km2 double, lat double, lon double, min_lon double, min_lat double, max_lon double, max_lat double,
    source_file varchar);
create table if not exists stg_lsoa21_edge (lsoa21 varchar, part integer, ring integer, x1 double, y1 double,
    x2 double, y2 double);

-- Each polygon's extent, area (km², outer rings less holes, on a local flat projection) and the
-- centre of its largest part (the area centroid of that part's outer ring): a 2021 LSOA's location.
create temp table _ring as
select lsoa21, part, ring, 0.5 * sum(x1 * y2 - x2 * y1) as a,
       sum((x1 + x2) * (x1 * y2 - x2 * y1)) as cx6, sum((y1 + y2) * (x1 * y2 - x2 * y1)) as cy6,
       min(least(x1, x2)) as min_lon, min(least(y1, y2)) as min_lat, max(greatest(x1, x2)) as max_lon,
       max(greatest(y1, y2)) as max_lat
from stg_lsoa21_edge group by all;
create temp table _shape as
select lsoa21, min(min_lon) as min_lon, min(min_lat) as min_lat, max(max_lon) as max_lon, max(max_lat) as max_lat,
       sum(case when ring = 0 then abs(a) else -abs(a) end) as a_deg,
       arg_max(cx6 / (6 * a), abs(a)) filter (where ring = 0 and a <> 0) as lon,
       arg_max(cy6 / (6 * a), abs(a)) filter (where ring = 0 and a <> 0) as lat
from _ring group by lsoa21;
update lsoa21_boundary set min_lon = s.min_lon, min_lat = s.min_lat, max_lon = s.max_lon, max_lat = s.max_lat,
    lon = round(s.lon, 5), lat = round(s.lat, 5),
    area_km2 = round(s.a_deg * 110.57 * 111.32 * cos(radians((s.min_lat + s.max_lat) / 2)), 4)
from _shape s where s.lsoa21 = lsoa21_boundary.lsoa21;
drop table _ring; drop table _shape;

-- One row per 2021 LSOA named in an IoD2025 file (Files 1 and 3 both give the IMD rank: they agree,
-- and the ingest report's IoD2025 check counts the LSOAs).
create table lsoa21 as
with v as (select lsoa21, max(imd_rank) as imd_rank, max(imd_decile) as imd_decile, max(imd_score) as imd_score,
                  max(idaci_rank) as idaci_rank, max(idaci_decile) as idaci_decile, max(idaci_score) as idaci_score,
                  max(idaopi_rank) as idaopi_rank, max(idaopi_decile) as idaopi_decile,
                  max(idaopi_score) as idaopi_score, min("name") as lsoa_name, min(lad_code) as lad_code,
                  min(lad_name) as lad_name
           from stg_lsoa21_wide where lsoa21 like 'E01%' group by 1),
w as (select lsoa21, min(lad_code) as lad_code, min(lad_name) as lad_name from lsoa21_ward group by 1)
select v.lsoa21, coalesce(v.lsoa_name, b.name) as name, coalesce(v.lad_code, w.lad_code) as lad24cd,
       coalesce(v.lad_name, w.lad_name) as lad24nm, cast(null as varchar) as la_code,
       imd_rank, imd_decile, imd_score, idaci_rank, idaci_decile, idaci_score, idaopi_rank, idaopi_decile, idaopi_score,
       b.lat, b.lon, b.area_km2, b.lsoa21 is not null as has_boundary
from v left join w using (lsoa21) left join lsoa21_boundary b using (lsoa21)
order by v.lsoa21;

-- Schools' 2021 LSOA: from the 2011 LSOA (postcode look-up, GIAS or nearest centroid; see
-- marts_location.sql) through ONS's look-up. Unchanged (U) and merged (M) 2011 LSOAs have one 2021
-- LSOA. A split (S) or irregular (X) one has several: the school takes the one whose polygon holds
-- its postcode point (even-odd rule over the polygon's edges), else the largest by area (the school
-- has no postcode coordinates, or its point falls in none of the simplified polygons).
alter table school add column lsoa21 varchar;
alter table school add column lsoa21_route varchar;

create temp table _cand as
select s.urn, s.lat, s.lon, s.location_source, k.lsoa21, min(k.change_code) as change_code,
       coalesce(max(b.area_km2), 0) as area_km2
from school s join lsoa11_lsoa21 k on k.lsoa11 = s.lsoa11 left join lsoa21_boundary b on b.lsoa21 = k.lsoa21
group by all;
create temp table _ncand as select urn, count(*) as n, min(change_code) as change_code from _cand group by urn;
create temp table _inside as
select c.urn, c.lsoa21
from _cand c join _ncand n using (urn) join stg_lsoa21_edge e on e.lsoa21 = c.lsoa21
where n.n > 1 and c.lat is not null and c.location_source = 'postcode'
group by c.urn, c.lsoa21
having count(*) filter (where (e.y1 > c.lat) <> (e.y2 > c.lat)
                          and c.lon < (e.x2 - e.x1) * (c.lat - e.y1) / (e.y2 - e.y1) + e.x1) % 2 = 1;
create temp table _pick as
select c.urn,
       arg_max(c.lsoa21, (i.lsoa21 is not null, c.area_km2, c.lsoa21)) as lsoa21,
       bool_or(i.lsoa21 is not null) as contained,
       any_value(n.n) as n, any_value(n.change_code) as change_code,
       bool_or(c.lat is not null and c.location_source = 'postcode') as has_point
from _cand c join _ncand n using (urn) left join _inside i on i.urn = c.urn and i.lsoa21 = c.lsoa21
group by c.urn;
update school set lsoa21 = p.lsoa21,
    lsoa21_route = case
        when p.n = 1 and p.change_code = 'U' then 'unchanged (U)'
        when p.n = 1 and p.change_code = 'M' then 'merged (M)'
        when p.n = 1 then (case p.change_code when 'S' then 'split (S)' else 'irregular (X)' end) || ': one 2021 LSOA'
        else (case p.change_code when 'S' then 'split (S)' else 'irregular (X)' end) || ': ' ||
             case when p.contained then 'the part holding the school'
                  when p.has_point then 'largest part (school''s point in none of the simplified polygons)'
                  else 'largest part (no postcode coordinates)' end end
from _pick p where p.urn = school.urn;

-- Which DfE LA each 2024 district's 2021 LSOAs belong to: the LA of most of the district's schools
-- (districts nest in LAs); then each 2021 LSOA's LA.
create table lad24_la as
select lad24cd, arg_max(la_code, n) as la_code, max(n) as schools, round(max(n) / sum(n), 3) as share
from (select l.lad24cd, s.la_code, count(*) as n from school s join lsoa21 l using (lsoa21)
      where s.la_code is not null and l.lad24cd is not null group by all)
group by lad24cd;
update lsoa21 set la_code = m.la_code from lad24_la m where m.lad24cd = lsoa21.lad24cd;

drop table _cand; drop table _ncand; drop table _inside; drop table _pick;
