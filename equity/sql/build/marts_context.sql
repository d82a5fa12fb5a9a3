-- One row per school: the newest name, LA, postcode and type we hold, its phase, and whether it is
-- mainstream and state-funded (families leave special and independent schools out by default).
-- Where a year's results carry no context of their own (a column missing or blank), the January
-- census of the same academic year fills % EAL, % SEN (EHC plan + SEN support) and pupils on roll, and
-- filled_from_census says which. The census's % ever eligible for free school meals is kept beside the
-- file's % disadvantaged (census_pct_fsm_ever), never in its place: it is the whole school, not the year
-- group, and leaves out looked-after and adopted children. Only from 2021/22 on (DfE's current layouts):
-- earlier years keep exactly the context their own files carry, which families and back-tests were built on.
create table school_context as
with ranked as (
    select * exclude (rk) from (
        select c.*, row_number() over (partition by urn, key_stage, start_year
            order by version_rank(version), source_file desc) rk
        from school_context_all c where urn is not null)
    where rk = 1),
cen as (
    select * exclude (rk) from (
        select urn, start_year, pct_fsm_ever, pct_eal, pupils_on_roll, source_file,
               case when pct_sen_support is not null and pct_ehcp is not null then pct_sen_support + pct_ehcp end as pct_sen,
               row_number() over (partition by urn, start_year order by source_file desc) rk
        from school_census where urn is not null and start_year >= 2021)
    where rk = 1)
select r.* replace (
           coalesce(r.pct_eal, cen.pct_eal) as pct_eal,
           coalesce(r.pct_sen, cen.pct_sen) as pct_sen,
           coalesce(r.pupils_on_roll, cen.pupils_on_roll) as pupils_on_roll),
       nullif(concat_ws(', ',
           case when r.pct_eal is null and cen.pct_eal is not null then '% EAL' end,
           case when r.pct_sen is null and cen.pct_sen is not null then '% SEN' end,
           case when r.pupils_on_roll is null and cen.pupils_on_roll is not null then 'pupils on roll' end), '')
           as filled_from_census,
       cen.pct_fsm_ever as census_pct_fsm_ever,
       cen.source_file as census_file
from ranked r left join cen on cen.urn = r.urn and cen.start_year = r.start_year;

create table school as
with ids as (
    select urn from school_spine union select urn from school_context union select urn from gias_establishment
    union select urn from school_census union select urn from school_coordinates),
spine as (select * exclude (rk) from (select *, row_number() over (partition by urn order by start_year desc nulls last) rk
          from school_spine where urn is not null) where rk = 1),
ctx as (select * exclude (rk) from (select *, row_number() over (partition by urn order by start_year desc, key_stage desc) rk
        from school_context) where rk = 1),
gias as (select * exclude (rk) from (select *, row_number() over (partition by urn order by source_file desc) rk
         from gias_establishment where urn is not null) where rk = 1),
coords as (select * exclude (rk) from (select *, row_number() over (partition by urn order by source_file) rk
           from school_coordinates where urn is not null and lat between 49 and 61 and lon between -7 and 2.5) where rk = 1),
census as (select * exclude (rk) from (select *, row_number() over (partition by urn order by start_year desc) rk
           from school_census where urn is not null) where rk = 1),
stages as (select urn, bool_or(key_stage = 4) has_ks4, bool_or(key_stage = 2) has_ks2 from school_context group by urn),
flags as (
    select ids.urn,
        coalesce(ctx.name, spine.name, gias.name) as name,
        coalesce(ctx.la_code, spine.la_code, gias.la_code, census.la_code) as la_code,
        coalesce(spine.postcode, ctx.postcode, gias.postcode, coords.postcode) as postcode,
        case when spine.is_primary = '1' and spine.is_secondary = '1' then 'all-through'
             when spine.is_secondary = '1' then 'secondary'
             when spine.is_primary = '1' then 'primary'
             when gias.phase ilike 'all%through' then 'all-through'
             when gias.phase ilike '%secondary%' then 'secondary'
             when gias.phase ilike '%primary%' or gias.phase ilike 'middle%' then 'primary'
             when stages.has_ks4 and stages.has_ks2 then 'all-through'
             when stages.has_ks4 then 'secondary'
             when stages.has_ks2 then 'primary'
             when gias.phase = '16 plus' then '16 plus' end as phase,
        (spine.minor_group = 'Special School' or ctx.rectype = '2' or ctx.establishment_group ilike '%special%'
            or gias.type_group ilike '%special%' or census.school_type ilike '%special%'
            or coalesce(ctx.nftype, spine.nftype) in ('CYS', 'ACS', 'ACCS', 'FDS', 'INDSPEC', 'NMSS', 'FSS')) as is_special,
        (spine.minor_group = 'Independent School' or coalesce(ctx.nftype, spine.nftype) in ('IND', 'INDSPEC')
            or ctx.establishment_group ilike 'independent%' or gias.type_group ilike 'independent%'
            or census.school_type ilike 'independent%') as is_independent,
        (spine.minor_group = 'College' or gias.type_group ilike '%colleges%' or gias.type_group ilike '%universities%') as is_college,
        coalesce(ctx.nftype, spine.nftype, gias.type) as school_type,
        coalesce(ctx.establishment_group, spine.minor_group, gias.type_group) as type_group,
        coalesce(spine.open_date, gias.open_date) as open_date,
        coalesce(spine.close_date, gias.close_date) as close_date,
        coalesce(ctx.gender, spine.gender) as gender,
        coalesce(ctx.admissions, spine.admissions) as admissions,
        coords.lat, coords.lon,
        case when coords.lat is not null then 'postcode' end as location_source,
        gias.lsoa11
    from ids left join spine using (urn) left join ctx using (urn) left join gias using (urn)
    left join coords using (urn) left join census using (urn) left join stages using (urn)
    where ids.urn is not null)
select f.*, coalesce(is_special, false) = false and coalesce(is_independent, false) = false
            and coalesce(is_college, false) = false as is_mainstream,
       coalesce(is_independent, false) = false as is_state_funded,
       la.la_name, la.region_name
from flags f left join (select * exclude (rk) from (select *, row_number() over (partition by la_code order by source_file) rk from la) where rk = 1) la using (la_code);

-- Predecessor and successor URNs (academy conversions, mergers), both ways round.
create table school_lineage as
select urn, link_urn as related_urn,
       case when link_type ilike 'successor%' then 'successor' when link_type ilike 'predecessor%' then 'predecessor'
            else lower(link_type) end as relation, link_type, link_date
from school_link where urn is not null and link_urn is not null;
