-- LAs we hold results for (school or published rows), with their names.
with codes as (
    select distinct la_code from school_result where la_code is not null and la_code <> ''
    union select distinct area_code from published_result where area_level = 'la')
select c.la_code, coalesce(l.la_name, c.la_code) as la_name,
       (select count(distinct urn) from school_result r where r.la_code = c.la_code and r.key_stage in (2, 4)
            and r.measure in ('att8', 'p8', 'rwm_exp') and r.pupil_group = 'disadvantaged') as schools_with_split
from codes c left join (select la_code, min(la_name) la_name from la group by 1) l using (la_code)
order by schools_with_split desc, la_name
