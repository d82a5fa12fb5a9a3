-- Per LA and key stage, the latest year with results for its schools (the LA's own year in a DfE
-- file, not a history column or a headline extract), and how many schools have a value then.
-- A result without an LA code takes the school's.
with r as (
    select coalesce(r.la_code, s.la_code) as la_code, r.key_stage, r.start_year, r.urn
    from school_result r left join school s using (urn)
    where r.kind = 'current' and r.value is not null and r.key_stage in (2, 4))
select la_code, key_stage, max(start_year) as latest_year,
       count(distinct urn) filter (where start_year = (select max(start_year) from r r2
                                   where r2.la_code = r.la_code and r2.key_stage = r.key_stage)) as schools
from r where la_code is not null and la_code <> ''
group by all
order by la_code, key_stage
