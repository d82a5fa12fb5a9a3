-- Every school with context data for one key stage and year, with what families need: the context
-- variables, type flags (mainstream, state-funded, special, independent), phase and a location.
-- Location: the school's own postcode centroid; else the centroid of the same postcode held for
-- another school (the same point: it is a postcode centroid); else its predecessor's location
-- (academy conversions keep their site; new URNs are often missing from the coordinates file);
-- else whatever school.location_source offers (e.g. an LSOA centroid, once added).
with ctx as (
    select * from school_context where key_stage = $key_stage and start_year = $start_year),
pc as (
    select replace(upper(postcode), ' ', '') as pc, min(lat) as lat, min(lon) as lon
    from school where lat is not null and location_source = 'postcode' and postcode is not null
    group by 1 having max(lat) - min(lat) < 1e-6 and max(lon) - min(lon) < 1e-6),
pred as (
    select l.urn, arg_min(p.lat, l.related_urn) as lat, arg_min(p.lon, l.related_urn) as lon
    from school_lineage l join school p on p.urn = l.related_urn
    where l.relation = 'predecessor' and p.lat is not null and p.lon is not null
    group by l.urn)
select c.urn, coalesce(c.name, s.name) as name, coalesce(c.la_code, s.la_code) as la_code,
       coalesce(s.la_name, la.la_name, 'LA ' || coalesce(c.la_code, s.la_code)) as la_name, coalesce(c.postcode, s.postcode) as postcode,
       s.phase, coalesce(s.is_mainstream, false) as is_mainstream,
       coalesce(s.is_state_funded, false) as is_state_funded,
       coalesce(s.is_special, false) as is_special, coalesce(s.is_independent, false) as is_independent,
       coalesce(c.establishment_group, s.type_group) as type_group, c.gender, c.admissions,
       c.cohort, c.pupils_on_roll, c.prior_attainment, c.prior_scale, c.pct_disadvantaged, c.pct_eal, c.pct_sen,
       s.lsoa11,
       case when s.lat is not null and s.location_source = 'postcode' then s.lat
            when pc.lat is not null then pc.lat when pred.lat is not null then pred.lat else s.lat end as lat,
       case when s.lat is not null and s.location_source = 'postcode' then s.lon
            when pc.lat is not null then pc.lon when pred.lat is not null then pred.lon else s.lon end as lon,
       case when s.lat is not null and s.location_source = 'postcode' then 'postcode'
            when pc.lat is not null then 'postcode (matched to another school with the same postcode)'
            when pred.lat is not null then 'predecessor school''s postcode'
            when s.lat is not null then coalesce(s.location_source, 'unknown') end as location_source
from ctx c
left join school s using (urn)
left join (select la_code, min(la_name) as la_name from la group by 1) la
       on la.la_code = coalesce(c.la_code, s.la_code)
left join pc on pc.pc = replace(upper(coalesce(c.postcode, s.postcode)), ' ', '')
left join pred on pred.urn = c.urn
order by c.urn
