-- Neighbourhoods: the `lsoa` table (IoD2019 deprivation per LSOA, one row each) and every school's
-- LSOA and, where it has no postcode coordinates, a location at its LSOA's centroid.
-- Staging tables are filled by equity/ingest/loaders/geography.py; they are created here too so that a
-- build without any neighbourhood file still works (the tables are then empty). The columns of
-- stg_lsoa_wide are geography.VALUE_FIELDS (tests/test_neighbourhoods.py checks they agree).
create table if not exists stg_lsoa_wide (lsoa11 varchar, source_file varchar,
    imd_rank double, imd_decile double, income_rank double, income_decile double, employment_rank double,
    employment_decile double, education_rank double, education_decile double, health_rank double,
    health_decile double, crime_rank double, crime_decile double, barriers_rank double, barriers_decile double,
    living_env_rank double, living_env_decile double, idaci_rank double, idaci_decile double,
    idaopi_rank double, idaopi_decile double, pop_total double, pop_children double, pop_16_59 double,
    pop_60_plus double, pop_working_age double, income_exp double, employment_exp double, education_exp double,
    health_exp double, crime_exp double, barriers_exp double, living_env_exp double, income_numerator double,
    idaci_numerator double, idaopi_numerator double, employment_numerator double, cyp_rank double,
    cyp_decile double, adult_skills_rank double, adult_skills_decile double, geographical_barriers_rank double,
    geographical_barriers_decile double, wider_barriers_rank double, wider_barriers_decile double,
    indoors_rank double, indoors_decile double, outdoors_rank double, outdoors_decile double);
create table if not exists stg_lsoa_text (lsoa11 varchar, name varchar, lad19cd varchar, lad19nm varchar,
    source_file varchar);
create table if not exists stg_postcode_lsoa (postcode varchar, postcode_key varchar, status varchar,
    lsoa11 varchar, lsoa_name varchar, imd_rank double, idaci_rank double, idaci_score double,
    income_score double, employment_score double, idaopi_score double, source_file varchar, source_row integer);
create table if not exists stg_lsoa_centroid (lsoa11 varchar, name varchar, lat double, lon double, source_file varchar);
create table if not exists lsoa_boundary (lsoa11 varchar, name varchar, la_code varchar, ons_la_code varchar,
    lad_code varchar, geometry varchar, n_points integer, min_lon double, min_lat double, max_lon double,
    max_lat double, source_file varchar);
create table if not exists la_boundary (la_code varchar, ons_code varchar, la_name varchar, method varchar,
    geometry varchar, n_points integer, min_lon double, min_lat double, max_lon double, max_lat double,
    source_file varchar);
create table if not exists lsoa_ward (lsoa11 varchar, ward_code varchar, ward_name varchar, lad_code varchar,
    lad_name varchar, source_file varchar);
create table if not exists oa_lsoa (oa11 varchar, lsoa11 varchar, lsoa_name varchar, msoa11 varchar,
    msoa_name varchar, lad_code varchar, lad_name varchar, source_file varchar);
create table if not exists lad_deprivation (lad19cd varchar, lad19nm varchar, index_domain varchar,
    average_rank double, rank_average_rank double, average_score double, rank_average_score double,
    proportion_bottom_decile double, rank_proportion_bottom_decile double, year integer, source_file varchar);
create table if not exists ons_la_code (ons_code varchar, la_code varchar);

-- One row per LSOA with every field the IoD files gave (several files repeat a field, e.g. the IMD
-- rank: they agree, and the ingest report checks it).
create temp table _lsoa_v as
select lsoa11, max(columns(* exclude (lsoa11, source_file)))
from stg_lsoa_wide where lsoa11 like 'E01%' group by lsoa11;

create temp table _lsoa_pub as
select lsoa11, max(idaci_score) idaci_score, max(income_score) income_score, max(employment_score) employment_score,
       max(idaopi_score) idaopi_score
from stg_postcode_lsoa where lsoa11 is not null group by 1;

-- IDACI scores: published where the postcode look-up covers the LSOA; elsewhere interpolated
-- (linearly in rank) between the two LSOAs with published scores nearest in IDACI rank. With
-- 17,000 published LSOAs the neighbours are at most a few ranks apart: checked on the published
-- ones, interpolation from half of them reproduces the other half to 0.0001 on average, while
-- numerator / children 0-15 (mid-2015) is off by 0.005 on average. The estimate from the
-- numerator is therefore used only where no interpolation is possible.
create temp table _idaci_anchor as
select v.idaci_rank as r, p.idaci_score as s from _lsoa_v v join _lsoa_pub p using (lsoa11)
where v.idaci_rank is not null and p.idaci_score is not null;
create temp table _idaci_anchor_hi as select r as r2, s as s2 from _idaci_anchor;

create temp table _idaci as
select v.lsoa11, lo.r as lo_r, lo.s as lo_s, hi.r2 as hi_r, hi.s2 as hi_s
from _lsoa_v v
asof left join _idaci_anchor lo on v.idaci_rank >= lo.r
asof left join _idaci_anchor_hi hi on v.idaci_rank <= hi.r2
where v.idaci_rank is not null;

create table lsoa as
with t as (select lsoa11, any_value(name) as name, any_value(lad19cd) as lad19cd, any_value(lad19nm) as lad19nm
           from stg_lsoa_text where name is not null or lad19cd is not null group by 1),
c as (select lsoa11, any_value(lat) as lat, any_value(lon) as lon, any_value(name) as name from stg_lsoa_centroid group by 1),
b as (select lsoa11, any_value(la_code) as la_code from lsoa_boundary group by 1),
base as (
    select v.*, coalesce(t.name, c.name) as name, t.lad19cd, t.lad19nm,
        -- the IMD score: IoD2019's weights of the seven domains (MHCLG technical report, table 3.1) on
        -- the exponentially transformed domain scores (File 9)
        0.225 * v.income_exp + 0.225 * v.employment_exp + 0.135 * v.education_exp + 0.135 * v.health_exp
            + 0.093 * v.crime_exp + 0.093 * v.barriers_exp + 0.093 * v.living_env_exp as imd_score,
        p.idaci_score as idaci_published, p.income_score, p.employment_score, p.idaopi_score,
        case when i.lo_r is not null and i.hi_r is not null then
            case when i.hi_r = i.lo_r then i.lo_s
                 else i.lo_s + (i.hi_s - i.lo_s) * (v.idaci_rank - i.lo_r) / (i.hi_r - i.lo_r) end end as idaci_interpolated,
        case when v.pop_children > 0 then v.idaci_numerator / v.pop_children end as idaci_estimated,
        c.lat, c.lon, coalesce(b.la_code, o.la_code) as la_code, b.lsoa11 is not null as has_boundary
    from _lsoa_v v left join t using (lsoa11) left join c using (lsoa11) left join _lsoa_pub p using (lsoa11)
    left join _idaci i using (lsoa11) left join b using (lsoa11) left join ons_la_code o on o.ons_code = t.lad19cd)
select lsoa11, name, lad19cd, lad19nm, la_code,
    imd_rank, imd_decile, round(imd_score, 3) as imd_score,
    case when imd_score is not null then rank() over (order by imd_score desc nulls last) end as imd_score_rank,
    income_rank, income_decile, employment_rank, employment_decile, education_rank, education_decile,
    health_rank, health_decile, crime_rank, crime_decile, barriers_rank, barriers_decile,
    living_env_rank, living_env_decile,
    idaci_rank, idaci_decile,
    round(coalesce(idaci_published, idaci_interpolated, idaci_estimated), 4) as idaci_score,
    case when idaci_published is not null then 'published'
         when idaci_interpolated is not null then 'interpolated from rank'
         when idaci_estimated is not null then 'estimated from numerator' end as idaci_score_source,
    idaci_numerator, idaopi_rank, idaopi_decile, idaopi_score, income_score, employment_score,
    income_exp, employment_exp, education_exp, health_exp, crime_exp, barriers_exp, living_env_exp,
    income_numerator, employment_numerator, idaopi_numerator,
    cyp_rank, cyp_decile, adult_skills_rank, adult_skills_decile, geographical_barriers_rank,
    geographical_barriers_decile, wider_barriers_rank, wider_barriers_decile, indoors_rank, indoors_decile,
    outdoors_rank, outdoors_decile,
    pop_total, pop_children, pop_16_59, pop_60_plus, pop_working_age,
    lat, lon, has_boundary
from base order by lsoa11;

-- Postcode -> LSOA (distinct postcodes; a postcode listed twice names the same LSOA).
create table postcode_lsoa as
select postcode_key, any_value(postcode) as postcode, any_value(lsoa11) as lsoa11, any_value(status) as status,
       count(distinct lsoa11) as n_lsoa
from stg_postcode_lsoa where lsoa11 is not null group by 1;

-- Schools: LSOA from the postcode look-up first, then GIAS's LSOA, then the nearest LSOA
-- population-weighted centroid to the school's postcode coordinates.
alter table school add column lsoa_source varchar;
alter table school add column lsoa_km double;
update school set lsoa_source = 'GIAS' where lsoa11 is not null;
update school set lsoa11 = p.lsoa11, lsoa_source = 'postcode look-up'
from postcode_lsoa p where p.postcode_key = replace(upper(school.postcode), ' ', '') and p.n_lsoa = 1;

-- Nearest centroid on a grid: cells of 0.05 deg latitude x 0.08 deg longitude (at least 5 km on a
-- side in England); a centroid found within 5 km in the 3 x 3 cells around a school is the nearest.
-- Schools further than 5 km from any centroid are looked up again on 0.5 deg cells.
create temp table _cent as select lsoa11, lat, lon from lsoa where lat is not null;
create temp table _need as select urn, lat, lon from school
where lsoa11 is null and lat is not null and location_source = 'postcode';
create temp table _near as
select urn, arg_min(lsoa11, d) as lsoa11, min(d) as d from (
    select s.urn, c.lsoa11,
        sqrt(pow((c.lat - s.lat) * 110.57, 2) + pow((c.lon - s.lon) * 111.32 * cos(radians(s.lat)), 2)) as d
    from _need s cross join range(-1, 2) a(dy) cross join range(-1, 2) b(dx)
    join _cent c on floor(c.lat / 0.05) = floor(s.lat / 0.05) + a.dy and floor(c.lon / 0.08) = floor(s.lon / 0.08) + b.dx)
group by urn;
delete from _near where d > 5;
insert into _near
select urn, arg_min(lsoa11, d), min(d) from (
    select s.urn, c.lsoa11,
        sqrt(pow((c.lat - s.lat) * 110.57, 2) + pow((c.lon - s.lon) * 111.32 * cos(radians(s.lat)), 2)) as d
    from _need s cross join range(-1, 2) a(dy) cross join range(-1, 2) b(dx)
    join _cent c on floor(c.lat / 0.5) = floor(s.lat / 0.5) + a.dy and floor(c.lon / 0.5) = floor(s.lon / 0.5) + b.dx
    where s.urn not in (select urn from _near))
group by urn;
update school set lsoa11 = n.lsoa11, lsoa_source = 'nearest centroid', lsoa_km = round(n.d, 3)
from _near n where n.urn = school.urn;

-- No postcode coordinates but a known LSOA: place the school at the LSOA's centroid (flagged).
update school set lat = l.lat, lon = l.lon, location_source = 'lsoa_centroid'
from lsoa l where school.lat is null and school.lsoa11 = l.lsoa11 and l.lat is not null;

-- Which DfE LA each district's LSOAs belong to, where no boundary file says: the LA of most of the
-- district's schools (districts nest in LAs, so the vote is nearly always unanimous).
create table lad_la as
select lad19cd, arg_max(la_code, n) as la_code, max(n) as schools, round(max(n) / sum(n), 3) as share
from (select l.lad19cd, s.la_code, count(*) n from school s join lsoa l using (lsoa11)
      where s.la_code is not null and l.lad19cd is not null group by all)
group by lad19cd;
update lsoa set la_code = m.la_code from lad_la m where lsoa.la_code is null and m.lad19cd = lsoa.lad19cd;
update lsoa_boundary set la_code = l.la_code from lsoa l
where lsoa_boundary.la_code is null and l.lsoa11 = lsoa_boundary.lsoa11;

drop table _lsoa_v; drop table _lsoa_pub; drop table _idaci_anchor; drop table _idaci_anchor_hi; drop table _idaci;
drop table _cent; drop table _need; drop table _near;
