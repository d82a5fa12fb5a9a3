-- LA comparison tables: published LA, region and England indicators (equity/ingest/loaders/la_tables.py).
-- Area codes: DfE's three-digit LA code wherever we can tell it ('england' for England); GSS codes
-- (E06/E08/E09/E10...) are mapped through files that print both codes (DfE's FSM file), else through
-- an unambiguous LA name; a GSS code we cannot map (e.g. LAs created after 2019) stays as it is.
create table if not exists la_indicator_raw (
    area_code_raw varchar, gss_code varchar, area_name varchar, area_level varchar, region_name varchar,
    key_stage tinyint, start_year integer, academic_year varchar, measure varchar, pupil_group varchar,
    value double, cohort double, status varchar, raw_token varchar, note varchar, publisher varchar,
    source_file varchar, source_row integer);
create table if not exists la_neighbour_raw (gss_code varchar, area_name varchar, rank integer, source_file varchar);

create or replace macro la_name_key(n) as (
    trim(regexp_replace(regexp_replace(regexp_replace(replace(lower(coalesce(n, '')), '&', ' and '),
        '(,?\s*(city|county) of\b)|(\bcouncil\b)|(^county\s+)', ' ', 'g'), '[^a-z0-9]+', ' ', 'g'), '\s+', ' ', 'g')));

create temp table la_name_map as
with names as (
    select la_name_key(la_name) as k, la_code from la where la_code is not null
    union
    select la_name_key(area_name), area_code_raw from la_indicator_raw
    where area_level = 'la' and regexp_full_match(area_code_raw, '\d{3}'))
select k, min(la_code) as la_code from names group by k having count(distinct la_code) = 1;

create temp table la_gss_map as
with direct as (
    select gss_code, min(area_code_raw) as la_code from la_indicator_raw
    where area_level = 'la' and regexp_full_match(area_code_raw, '\d{3}') and gss_code like 'E%'
    group by gss_code having count(distinct area_code_raw) = 1),
by_name as (
    select distinct r.gss_code, n.la_code from la_indicator_raw r join la_name_map n on n.k = la_name_key(r.area_name)
    where r.area_level = 'la' and r.gss_code like 'E%' and r.gss_code not in (select gss_code from direct)
    union
    select distinct r.gss_code, n.la_code from la_neighbour_raw r join la_name_map n on n.k = la_name_key(r.area_name)
    where r.gss_code not in (select gss_code from direct))
select * from direct
union all
select gss_code, min(la_code) from by_name group by gss_code having count(distinct la_code) = 1;

create table la_indicator as
select coalesce(case when r.area_level = 'england' then 'england' end,
                case when regexp_full_match(r.area_code_raw, '\d{3}') then r.area_code_raw end,
                m.la_code, r.area_code_raw, r.gss_code) as area_code,
       r.area_name, r.area_level, r.gss_code,
       coalesce(r.region_name, l.region_name) as region_name,
       r.key_stage, r.start_year, r.academic_year, r.measure, r.pupil_group, r.value,
       cast(round(r.cohort) as integer) as cohort, r.status, r.raw_token, r.note,
       r.publisher as source, r.source_file, r.source_row
from la_indicator_raw r
left join la_gss_map m on m.gss_code = r.gss_code and r.area_level = 'la'
left join (select area_code_raw, any_value(region_name) as region_name from la_indicator_raw
           where area_level = 'la' and region_name is not null group by 1) l
       on l.area_code_raw = coalesce(case when regexp_full_match(r.area_code_raw, '\d{3}') then r.area_code_raw end, m.la_code);

-- A statistical-neighbour list names its neighbours but not whose they are: the subject is the one LA
-- in the LG Inform indicator files published with it that is not on the list.
create table la_neighbour as
with subject as (
    select distinct r.gss_code, r.area_name from la_indicator_raw r
    where r.publisher like '%LG Inform%' and r.area_level = 'la'
      and r.gss_code not in (select gss_code from la_neighbour_raw)),
one as (select * from subject where (select count(*) from subject) = 1)
select coalesce(ms.la_code, one.gss_code) as la_code, one.gss_code as la_gss, one.area_name as la_name,
       coalesce(mn.la_code, n.gss_code) as neighbour_code, n.gss_code as neighbour_gss, n.area_name as neighbour_name,
       n.rank, n.source_file
from la_neighbour_raw n cross join one
left join la_gss_map ms on ms.gss_code = one.gss_code
left join la_gss_map mn on mn.gss_code = n.gss_code
order by n.rank;
